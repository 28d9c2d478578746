// Implements ClientsDomain's contacts and touchpoints.
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"
#include "services/clients/text_util.h"

namespace triad::clients {

// ---------------------------------------------------------------------------------------------
// Contacts and touchpoints.

absl::StatusOr<v1::Contact> ClientsDomain::CreateContact(const v1::CreateContactRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const v1::Contact& in = req.contact();
  RETURN_IF_ERROR(api::CheckId("contact.client_id", in.client_id()));
  RETURN_IF_ERROR(api::CheckRequired("contact.name", in.name()));
  RETURN_IF_ERROR(api::CheckLength("contact.name", in.name(), 300));
  RETURN_IF_ERROR(api::CheckLength("contact.role", in.role(), 300));
  RETURN_IF_ERROR(api::CheckLength("contact.phone", in.phone(), 100));
  RETURN_IF_ERROR(api::CheckLength("contact.email", in.email(), 300));
  if (!in.email().empty() && in.email().find('@') == std::string::npos) {
    return InvalidField("contact.email", "not an e-mail address");
  }
  if (!in.phone().empty() && NormalizePhone(in.phone()).empty()) {
    return InvalidField("contact.phone", "needs at least 6 digits");
  }
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::Contact> replay(*store_, "CreateContact", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Contact> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::Contact c;
  ASSIGN_OR_RETURN(Client client, LoadClient(in.client_id(), true));
  c.set_contact_id(util::NewId("ct"));
  c.set_client_id(client.client_id());
  c.set_name(in.name());
  c.set_role(in.role());
  c.set_phone(in.phone());
  c.set_email(in.email());
  *c.mutable_create_time() = util::ToProto(Now());
  c.set_created_by(req.actor().id());
  events::Transaction txn;
  RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), ContactKey(c.client_id(), c.contact_id()), c));
  RETURN_IF_ERROR(replay.Record(txn.batch(), c));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return c;
}

namespace {
// ListPrefix pages through the records of type Msg under `prefix`.
// `items` is the response's repeated field; `next_token` its next_page_token.
template <typename Msg>
absl::Status ListPrefix(const ClientsRepository& repo, const std::string& prefix, api::Pager& pager,
                        google::protobuf::RepeatedPtrField<Msg>* items, std::string* next_token) {
  absl::Status inner;
  RETURN_IF_ERROR(repo.ScanRecords(
      prefix, pager.after_key(), [&](std::string_view key, std::string_view value) {
        if (!pager.Accept(key)) return false;
        if (!items->Add()->ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError("record does not decode");
          return false;
        }
        return true;
      }));
  *next_token = pager.NextPageToken();
  return inner;
}
}  // namespace

absl::StatusOr<v1::ListContactsResponse> ClientsDomain::ListContacts(
    const v1::ListContactsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  ASSIGN_OR_RETURN(Client client, LoadClient(req.client_id(), true));
  std::string fp = "contacts:" + client.client_id();
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListContactsResponse resp;
  RETURN_IF_ERROR(ListPrefix(*repo_, ContactPrefix(client.client_id()), pager,
                             resp.mutable_contacts(), resp.mutable_next_page_token()));
  return resp;
}

absl::StatusOr<v1::Touchpoint> ClientsDomain::CreateTouchpoint(
    const v1::CreateTouchpointRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  const v1::Touchpoint& in = req.touchpoint();
  RETURN_IF_ERROR(api::CheckId("touchpoint.client_id", in.client_id()));
  RETURN_IF_ERROR(ValidateTouchpoint(in, "touchpoint.", /*require_participants=*/true));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  std::lock_guard lock(mu_);
  const api::Replay<v1::Touchpoint> replay(*store_, "CreateTouchpoint", req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Touchpoint> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  v1::Touchpoint t;
  ASSIGN_OR_RETURN(Client client, LoadClient(in.client_id(), true));
  for (const std::string& contact : in.contact_ids()) {
    v1::Contact ct;
    absl::Status s = repo_->GetRecord(ContactKey(client.client_id(), contact), &ct);
    if (absl::IsNotFound(s)) {
      return InvalidField("touchpoint.contact_ids",
                          absl::StrCat("no contact ", contact, " at client ", client.client_id()));
    }
    RETURN_IF_ERROR(s);
  }
  t = in;
  t.set_touchpoint_id(util::NewId("tp"));
  t.set_client_id(client.client_id());
  if (!t.has_occur_time()) *t.mutable_occur_time() = util::ToProto(Now());
  t.set_recorded_by(req.actor().id());
  t.clear_follow_up_id();
  events::Transaction txn;
  RETURN_IF_ERROR(
      repo_->PutRecord(txn.batch(), TouchpointKey(t.client_id(), t.touchpoint_id()), t));
  RETURN_IF_ERROR(replay.Record(txn.batch(), t));
  RETURN_IF_ERROR(outbox_->Commit(txn));
  return t;
}

absl::StatusOr<v1::ListTouchpointsResponse> ClientsDomain::ListTouchpoints(
    const v1::ListTouchpointsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("client_id", req.client_id()));
  ASSIGN_OR_RETURN(Client client, LoadClient(req.client_id(), true));
  std::string fp = "touchpoints:" + client.client_id();
  ASSIGN_OR_RETURN(api::Pager pager, api::Pager::Start(req.page_size(), req.page_token(), fp));
  v1::ListTouchpointsResponse resp;
  RETURN_IF_ERROR(ListPrefix(*repo_, TouchpointPrefix(client.client_id()), pager,
                             resp.mutable_touchpoints(), resp.mutable_next_page_token()));
  return resp;
}

}  // namespace triad::clients
