"""The services and methods triadctl offers, discovered from the descriptors generated from
proto/ (never a hard-coded method list), with the proto comments of services, methods, messages,
fields and enum values for --help.

A gRPC service belongs to a command group (one of the four Triad services) by its package or
name: `triad.clients.v1.ClientsService` to `clients`; a service whose package or name names a
Triad service (e.g. a future `triad.clients.admin.v1.ClientsAdminService`) to that one; a service
of a `triad.admin.*` package naming none of them (`triad.admin.v1.AdminService`) is served by
every service and so belongs to every group. Test-only packages (`triad.testing`) are left out.
"""
import os
import re

from google.protobuf import descriptor_pb2, symbol_database

from triad_py import stubs

# The command groups, each one Triad service, with the loopback gRPC port `make run` uses.
SERVICES = ("clients", "pipeline", "review", "production")
DEFAULT_PORTS = {"clients": 7101, "pipeline": 7102, "review": 7103, "production": 7104}


def kebab(name):
    """kebab("ListClients") == "list-clients"; kebab("owner_id") == "owner-id"."""
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"-\1", s)
    return s.replace("_", "-").lower()


def address(service, explicit=None, environ=None):
    """The address of `service`: explicit (a --<service>-addr flag), else $TRIAD_<SERVICE>_ADDR,
    else 127.0.0.1:<its make-run port>."""
    environ = os.environ if environ is None else environ
    if explicit:
        return explicit
    env = environ.get("TRIAD_%s_ADDR" % service.upper())
    if env:
        return env
    return "127.0.0.1:%d" % DEFAULT_PORTS[service]


def groups_of(full_service_name):
    """The command groups a gRPC service (full name) belongs to (see the module comment)."""
    parts = full_service_name.split(".")
    if len(parts) < 3 or parts[0] != "triad" or "testing" in parts[1:-1]:
        return []
    simple = parts[-1].lower()
    for svc in SERVICES:
        if svc in parts[1:-1] or simple.startswith(svc):
            return [svc]
    if "admin" in parts[1:-1]:
        return list(SERVICES)
    return []


class Method:
    """One RPC as a command: `triadctl <group> <command>`."""

    def __init__(self, group, service_desc, method_desc, comments):
        self.group = group
        self.service = service_desc.full_name
        self.name = method_desc.name
        self.command = kebab(method_desc.name)
        self.input = method_desc.input_type
        self.output = method_desc.output_type
        self.path = "/%s/%s" % (service_desc.full_name, method_desc.name)
        self.comment = comments.get(method_desc.full_name, "")
        if len(self.comment.split()) < 4 and self.name not in self.comment:
            # A section heading above the method ("// Clients."), not its description.
            self.comment = ""
        self.signature = "%s(%s) returns %s" % (self.name, method_desc.input_type.name,
                                                method_desc.output_type.name)
        db = symbol_database.Default()
        self.request_cls = db.GetPrototype(method_desc.input_type)
        self.response_cls = db.GetPrototype(method_desc.output_type)

    def is_list(self):
        """A paginated list: page_token in the request, next_page_token in the response."""
        return ("page_token" in self.input.fields_by_name
                and "next_page_token" in self.output.fields_by_name)


def _comment(loc):
    text = loc.leading_comments.strip() or loc.trailing_comments.strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _walk_messages(prefix, messages, path, locs, out):
    for i, m in enumerate(messages):
        name = "%s.%s" % (prefix, m.name)
        mpath = path + (i,)
        if mpath in locs:
            out[name] = locs[mpath]
        for j, f in enumerate(m.field):
            if mpath + (2, j) in locs:
                out["%s.%s" % (name, f.name)] = locs[mpath + (2, j)]
        _walk_enums(name, m.enum_type, mpath + (4,), locs, out)
        _walk_messages(name, m.nested_type, mpath + (3,), locs, out)


def _walk_enums(prefix, enums, path, locs, out):
    for i, e in enumerate(enums):
        name = "%s.%s" % (prefix, e.name)
        if path + (i,) in locs:
            out[name] = locs[path + (i,)]
        for j, v in enumerate(e.value):
            if path + (i, 2, j) in locs:
                # Enum values are scoped beside their enum, but keyed here under it.
                out["%s.%s" % (name, v.name)] = locs[path + (i, 2, j)]


def load_comments(descriptor_set_path):
    """{full name: comment} for every service, method, message, field, enum and enum value of
    the FileDescriptorSet (written by stubs.generate with source info)."""
    fds = descriptor_pb2.FileDescriptorSet()
    try:
        with open(descriptor_set_path, "rb") as f:
            fds.ParseFromString(f.read())
    except OSError:
        return {}
    out = {}
    for fd in fds.file:
        locs = {tuple(l.path): _comment(l) for l in fd.source_code_info.location}
        locs = {k: v for k, v in locs.items() if v}
        pkg = fd.package
        _walk_messages(pkg, fd.message_type, (4,), locs, out)
        _walk_enums(pkg, fd.enum_type, (5,), locs, out)
        for i, s in enumerate(fd.service):
            sname = "%s.%s" % (pkg, s.name)
            if (6, i) in locs:
                out[sname] = locs[(6, i)]
            for j, m in enumerate(s.method):
                if (6, i, 2, j) in locs:
                    out["%s.%s" % (sname, m.name)] = locs[(6, i, 2, j)]
    return out


class Catalog:
    """Every command group with its methods, from the generated descriptors."""

    def __init__(self, stub_ns=None):
        self.stubs = stub_ns or stubs.load()
        self.comments = load_comments(self.stubs.descriptor_set)
        self.groups = {svc: {} for svc in SERVICES}
        self.services = {}  # full service name -> comment
        modules = stubs.all_modules()
        # A group's own services first, so that they win a name clash with shared ones.
        found = []
        for mod in modules.values():
            for sd in mod.DESCRIPTOR.services_by_name.values():
                for group in groups_of(sd.full_name):
                    shared = len(groups_of(sd.full_name)) > 1
                    found.append((shared, sd.full_name, group, sd))
        for shared, _, group, sd in sorted(found, key=lambda x: (x[0], x[1])):
            self.services[sd.full_name] = self.comments.get(sd.full_name, "")
            for md in sd.methods:
                m = Method(group, sd, md, self.comments)
                if m.command in self.groups[group]:
                    m.command = "%s.%s" % (kebab(sd.name), m.command)
                self.groups[group][m.command] = m

    def methods(self, group):
        """The methods of a group by command name, in proto order (own services first)."""
        return self.groups[group]

    def comment(self, full_name):
        return self.comments.get(full_name, "")
