#!/usr/bin/env python3
"""Static checks of deploy/docker/Dockerfile (no Docker engine needed).

Usage: check_dockerfile.py --repo ROOT [--build-dir DIR]

* two stages: a builder FROM debian:bookworm and a runtime FROM debian:bookworm-slim; the
  builder's ARG SERVICES names every service of services/ (a directory with a main.cc), builds
  triad-<service> for each and the runtime copies them to /usr/local/bin; the runtime runs as
  uid 10001, listens on 0.0.0.0 through TRIAD_LISTEN_HOST, and its CMD/ENTRYPOINT use the exec
  form (the service is PID 1 and gets SIGTERM);
* the builder installs every build package scripts/setup.sh installs (the -dev libraries, the
  compilers and build tools) and copies every directory the top-level CMakeLists.txt adds;
* when service binaries are built in --build-dir, every shared library they load (ldd) comes
  from a package the runtime stage installs (libc6 comes with the base image).

Prints one line per problem and exits 1 if there is any.
"""

import argparse
import glob
import os
import re
import shlex
import shutil
import subprocess
import sys

BUILD_TOOLS = {"build-essential", "cmake", "ninja-build", "pkg-config", "protobuf-compiler",
               "protobuf-compiler-grpc"}
IN_BASE_IMAGE = {"libc6"}


def logical_lines(text):
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    lines, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if not cur and (not s or s.startswith("#")):
            continue
        if cur and s.startswith("#"):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        lines.append(cur.strip())
        cur = ""
    if cur:
        lines.append(cur.strip())
    return lines


def apt_packages(run_line):
    """Package names of the `apt-get install` commands in a RUN line."""
    pkgs = set()
    for cmd in re.split(r"&&|;", run_line):
        if "apt-get" not in cmd:
            continue
        words = shlex.split(cmd)
        if "apt-get" in words and "install" in words:
            for w in words[words.index("install") + 1:]:
                if not w.startswith("-"):
                    pkgs.add(w)
    return pkgs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--build-dir", default=None)
    args = ap.parse_args()
    errors, notes = [], []
    path = os.path.join(args.repo, "deploy", "docker", "Dockerfile")
    with open(path, encoding="utf-8") as fh:
        lines = logical_lines(fh.read())

    global_args, stages = {}, []
    for line in lines:
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "ARG" and not stages:
            k, _, v = rest.partition("=")
            global_args[k.strip()] = v.strip()
        elif instr == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: global_args.get(m.group(1), ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append({"image": image, "name": name, "lines": []})
        elif stages:
            stages[-1]["lines"].append((instr, rest))
    if len(stages) < 2:
        errors.append(f"expected a builder and a runtime stage, found {len(stages)} stage(s)")
        return report(errors, notes)
    build, runtime = stages[0], stages[-1]
    if build["image"] != "debian:bookworm":
        errors.append(f"builder stage is FROM {build['image']}, expected debian:bookworm")
    if runtime["image"] != "debian:bookworm-slim":
        errors.append(f"runtime stage is FROM {runtime['image']}, expected debian:bookworm-slim")

    def instrs(stage, kind):
        return [rest for i, rest in stage["lines"] if i == kind]

    # The services the image ships: ARG SERVICES="..." of the builder, against services/.
    services_arg = None
    for a in instrs(build, "ARG"):
        k, _, v = a.partition("=")
        if k.strip() == "SERVICES":
            services_arg = v.strip().strip('"').split()
    code_services = sorted(d for d in os.listdir(os.path.join(args.repo, "services"))
                           if os.path.isfile(os.path.join(args.repo, "services", d, "main.cc")))
    if services_arg is None:
        errors.append('builder stage does not declare ARG SERVICES="<service> ..."')
    else:
        for svc in code_services:
            if svc not in services_arg:
                errors.append(f"ARG SERVICES does not name {svc} (services/{svc}/main.cc): "
                              f"the image would not ship triad-{svc}")
        for svc in services_arg:
            if svc not in code_services:
                errors.append(f"ARG SERVICES names {svc}, which has no services/{svc}/main.cc")

    # Builder: packages of scripts/setup.sh, and the CMake source directories.
    build_pkgs = set().union(*[apt_packages(r) for r in instrs(build, "RUN")])
    setup = os.path.join(args.repo, "scripts", "setup.sh")
    if os.path.isfile(setup):
        with open(setup, encoding="utf-8") as fh:
            text = fh.read()
        m = re.search(r"PACKAGES=\((.*?)\)", text, re.S)
        wanted = {w for w in (m.group(1).split() if m else [])
                  if w.endswith("-dev") or w in BUILD_TOOLS}
        missing = sorted(wanted - build_pkgs)
        if missing:
            errors.append(f"builder stage does not install {missing} (scripts/setup.sh does)")
    copied = set()
    for c in instrs(build, "COPY"):
        words = [w for w in c.split() if not w.startswith("--")]
        copied.update(w.rstrip("/") for w in words[:-1])
    with open(os.path.join(args.repo, "CMakeLists.txt"), encoding="utf-8") as fh:
        subdirs = re.findall(r"^\s*add_subdirectory\(\s*([\w./-]+)", fh.read(), re.M)
    if "CMakeLists.txt" not in copied:
        errors.append("builder stage does not COPY CMakeLists.txt")
    for d in subdirs:
        if d not in copied:
            errors.append(f"builder stage does not COPY {d}/, which CMakeLists.txt adds")
    # The build context: a directory that a CMakeLists.txt adds must not be excluded by
    # Dockerfile.dockerignore (tools/* is excluded but for the CMake-built tools).
    ignore_path = path + ".dockerignore"
    if os.path.isfile(ignore_path):
        with open(ignore_path, encoding="utf-8") as fh:
            patterns = [p.strip() for p in fh if p.strip() and not p.startswith("#")]
        tools_cmake = os.path.join(args.repo, "tools", "CMakeLists.txt")
        if "tools/*" in patterns and os.path.isfile(tools_cmake):
            with open(tools_cmake, encoding="utf-8") as fh:
                for d in re.findall(r"^\s*add_subdirectory\(\s*([\w./-]+)", fh.read(), re.M):
                    if f"!tools/{d}" not in patterns:
                        errors.append(f"Dockerfile.dockerignore excludes tools/{d}, which tools/CMakeLists.txt "
                                      f"adds: the image's CMake configure would fail (add !tools/{d})")
    build_runs = " ".join(instrs(build, "RUN"))
    if not re.search(r"for s in \$\{SERVICES\}; do targets=\"\$\{targets\} triad-\$\{s\}\"", build_runs) \
            or "--target ${targets}" not in build_runs:
        errors.append("builder stage does not build the target triad-<s> of every s in ${SERVICES}")
    if not re.search(r'cp "/build/services/\$\{s\}/triad-\$\{s\}" "/out/triad-\$\{s\}"', build_runs):
        errors.append("builder stage does not collect every triad-${s} into /out")

    # Runtime: user, listen host, entrypoint.
    users = instrs(runtime, "USER")
    if not users or users[-1].split(":")[0] != "10001":
        errors.append(f"runtime USER must be 10001, got {users[-1] if users else 'none'}")
    env_text = " ".join(instrs(runtime, "ENV"))
    if not re.search(r"(^|\s)TRIAD_LISTEN_HOST=0\.0\.0\.0(\s|$)", env_text):
        errors.append("runtime stage does not set ENV TRIAD_LISTEN_HOST=0.0.0.0")
    copies = [c.split() for c in instrs(runtime, "COPY")]
    if not any("--from=build" in c and c[-2].rstrip("/") == "/out" and c[-1].rstrip("/") == "/usr/local/bin"
               for c in copies if len(c) >= 3):
        errors.append("runtime stage does not COPY --from=build /out/ /usr/local/bin/ (the service binaries)")
    for kind in ("ENTRYPOINT", "CMD"):
        for e in instrs(runtime, kind):
            if not e.startswith("["):
                errors.append(f"{kind} must use the exec form (so the service is PID 1 and gets SIGTERM)")
    if not instrs(runtime, "CMD") and not instrs(runtime, "ENTRYPOINT"):
        errors.append("runtime stage has neither CMD nor ENTRYPOINT")

    # Runtime libraries of the built binaries.
    runtime_pkgs = set().union(*[apt_packages(r) for r in instrs(runtime, "RUN")])
    binaries = []
    if args.build_dir:
        binaries = sorted(glob.glob(os.path.join(args.build_dir, "services", "*", "triad-*")))
        binaries = [b for b in binaries if os.access(b, os.X_OK) and os.path.isfile(b)]
    if not binaries:
        notes.append("no built service binaries found: runtime library check skipped")
    elif not (shutil.which("ldd") and shutil.which("dpkg-query")):
        notes.append("ldd or dpkg-query missing: runtime library check skipped")
    else:
        libs, paths = set(), set()
        for b in binaries:
            out = subprocess.run(["ldd", b], capture_output=True, text=True).stdout
            for m in re.finditer(r"=>\s+(\S+)\s+\(", out):
                real = os.path.realpath(m.group(1))
                libs.add(os.path.basename(real))
                # dpkg knows a file under /usr/lib or /lib (merged /usr): ask for both (exact
                # paths are fast, patterns scan every package's file list).
                paths.update({real, re.sub(r"^/usr/", "/", real), "/usr" + real
                              if not real.startswith("/usr/") else real})
        owners = {}
        out = subprocess.run(["dpkg-query", "-S"] + sorted(paths),
                             capture_output=True, text=True).stdout
        for line in out.splitlines():
            pkgs, sep, file = line.partition(": ")
            if sep and os.path.basename(file) in libs:
                owners.setdefault(os.path.basename(file), set()).update(
                    p.strip().split(":")[0] for p in pkgs.split(","))
        for lib in sorted(libs - set(owners)):
            notes.append(f"{lib}: no Debian package owns it (not checked)")
        for lib, pkgs in sorted(owners.items()):
            if not pkgs & (runtime_pkgs | IN_BASE_IMAGE):
                errors.append(f"{lib} (package {'/'.join(sorted(pkgs))}) is loaded by "
                              f"{', '.join(os.path.basename(b) for b in binaries)} "
                              f"but the runtime stage does not install it")
        notes.append(f"runtime libraries of {len(binaries)} binaries: {len(owners)} checked")
    return report(errors, notes)


def report(errors, notes):
    for n in notes:
        print(f"note Dockerfile: {n}")
    for e in errors:
        print(f"ERROR Dockerfile: {e}")
    print(f"{'FAIL' if errors else 'ok'} Dockerfile: {len(errors)} error(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
