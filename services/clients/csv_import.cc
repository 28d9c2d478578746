// Implements ClientsDomain::ImportClientsCsv: one client per valid row, each row all-or-nothing
// and, under a request_id, resumable after an interruption.
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/status/status_macros.h"
#include "common/util/proto_time.h"
#include "services/clients/domain.h"
#include "services/clients/domain_internal.h"
#include "services/clients/text_util.h"

namespace triad::clients {

// ---------------------------------------------------------------------------------------------
// CSV import.

namespace {
// How to import a bigger file, said by the size errors.
constexpr char kChunkAdvice[] =
    "send a bigger file in chunks, each with its own request_id (triadctl clients import does)";

// Fingerprint64 is FNV-1a over the CSV: binds an import's request_id to its content.
uint64_t Fingerprint64(std::string_view data) {
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

void Count(v1::ImportClientsCsvResponse& resp, const v1::ImportRowResult& row) {
  switch (row.outcome()) {
    case v1::IMPORT_OUTCOME_CREATED:
      resp.set_created(resp.created() + 1);
      break;
    case v1::IMPORT_OUTCOME_DUPLICATE:
      resp.set_duplicates(resp.duplicates() + 1);
      break;
    default:
      resp.set_invalid(resp.invalid() + 1);
  }
}
}  // namespace

absl::StatusOr<v1::ImportClientsCsvResponse> ClientsDomain::ImportClientsCsv(
    const v1::ImportClientsCsvRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckActor(req.actor()));
  if (req.csv().empty()) return InvalidField("csv", "required");
  if (req.csv().size() > options_.max_csv_bytes) {
    return InvalidField("csv", absl::StrCat("at most ", options_.max_csv_bytes, " bytes (got ",
                                            req.csv().size(), "); ", kChunkAdvice));
  }
  RETURN_IF_ERROR(api::CheckOptionalId("default_owner_id", req.default_owner_id()));
  const std::string& rid = req.request_id();
  const uint64_t fingerprint = Fingerprint64(req.csv());
  const api::Replay<v1::ImportClientsCsvResponse> replay(*store_, "ImportClientsCsv", rid, req);
  {
    std::lock_guard lock(mu_);
    ASSIGN_OR_RETURN(std::optional<v1::ImportClientsCsvResponse> prior, replay.Prior());
    if (prior.has_value()) return *std::move(prior);
    if (!rid.empty()) {
      // The job marker binds the request id to this CSV; rows already processed under it (by an
      // interrupted or a concurrent call) are recorded per row and are not processed again.
      v1::ImportJob job;
      absl::Status js = repo_->GetRecord(ImportJobKey(rid), &job);
      if (js.ok() && job.csv_fingerprint() != fingerprint) {
        return InvalidField("request_id", "already used for an import of a different CSV");
      }
      if (absl::IsNotFound(js)) {
        job.set_request_id(rid);
        job.set_csv_fingerprint(fingerprint);
        *job.mutable_start_time() = util::ToProto(Now());
        job.set_actor_id(req.actor().id());
        events::Transaction txn;
        RETURN_IF_ERROR(repo_->PutRecord(txn.batch(), ImportJobKey(rid), job));
        RETURN_IF_ERROR(outbox_->Commit(txn));
      } else {
        RETURN_IF_ERROR(js);
      }
    }
  }
  ASSIGN_OR_RETURN(auto rows, ParseCsv(req.csv()));
  if (rows.empty()) return InvalidField("csv", "no header row");
  if (rows.size() - 1 > static_cast<size_t>(options_.max_csv_rows)) {
    return InvalidField("csv", absl::StrCat("at most ", options_.max_csv_rows, " rows (got ",
                                            rows.size() - 1, "); ", kChunkAdvice));
  }
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < rows[0].size(); ++i) {
    col[absl::AsciiStrToLower(absl::StripAsciiWhitespace(rows[0][i]))] = i;
  }
  if (!col.count("name")) return InvalidField("csv", "the header has no 'name' column");
  if (!col.count("owner_id") && IsBlank(req.default_owner_id())) {
    return InvalidField("default_owner_id", "required when the CSV has no owner_id column");
  }
  v1::ImportClientsCsvResponse resp;
  int processed = 0;
  for (size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& row = rows[r];
    auto cell = [&](const char* name) -> std::string {
      auto it = col.find(name);
      if (it == col.end() || it->second >= row.size()) return "";
      return std::string(absl::StripAsciiWhitespace(row[it->second]));
    };
    v1::ImportRowResult result;
    result.set_row(static_cast<int>(r));
    std::lock_guard lock(mu_);
    if (!rid.empty()) {
      absl::Status ps = repo_->GetRecord(ImportRowKey(rid, static_cast<int64_t>(r)), &result);
      if (ps.ok()) {  // processed before this call: report what happened then
        Count(resp, result);
        *resp.add_rows() = std::move(result);
        continue;
      }
      if (!absl::IsNotFound(ps)) return ps;
    }
    if (options_.import_stop_after_rows > 0 && processed == options_.import_stop_after_rows) {
      return absl::UnavailableError("import interrupted (test hook)");
    }
    ++processed;
    Client c;
    absl::Status valid = absl::OkStatus();
    for (const auto& [name, index] : col) {
      if (index < row.size() && !api::IsValidUtf8(row[index])) {
        valid = InvalidField(name, "not valid UTF-8");
        break;
      }
    }
    if (valid.ok()) {
      c.set_name(cell("name"));
      c.set_tax_id(cell("tax_id"));
      c.set_phone(cell("phone"));
      c.set_email(cell("email"));
      c.set_website(cell("website"));
      c.set_address(cell("address"));
      c.set_owner_id(cell("owner_id").empty() ? req.default_owner_id() : cell("owner_id"));
      c.set_team_id(cell("team_id"));
      c.set_industry(cell("industry"));
      c.set_region(cell("region"));
      c.set_notes(cell("notes"));
      for (absl::string_view t : absl::StrSplit(cell("tags"), ';', absl::SkipWhitespace())) {
        c.add_tags(std::string(absl::StripAsciiWhitespace(t)));
      }
      absl::StatusOr<v1::ClientTier> tier = ParseTier(cell("tier"));
      valid = tier.ok() ? absl::OkStatus() : tier.status();
      if (valid.ok()) {
        c.set_tier(*tier);
        valid = ValidateClient(c, "");
      }
      if (valid.ok()) valid = api::CheckLength("owner_id", c.owner_id(), kMaxIdLength);
      if (valid.ok()) valid = CheckPersonActive("owner_id", c.owner_id());
    }
    // The row's result is recorded under the request id in the row's own batch (with the
    // client it creates), so an interrupted import resumes exactly where it stopped.
    auto record = [&](events::Transaction& txn) -> absl::Status {
      if (rid.empty()) return absl::OkStatus();
      return repo_->PutRecord(txn.batch(), ImportRowKey(rid, static_cast<int64_t>(r)), result);
    };
    if (valid.ok()) {
      ASSIGN_OR_RETURN(CreateOutcome out,
                       CreateLocked(c, req.force(), req.actor(), nullptr,
                                    [&](events::Transaction& txn, const Client& created) {
                                      result.set_outcome(v1::IMPORT_OUTCOME_CREATED);
                                      result.set_client_id(created.client_id());
                                      return record(txn);
                                    }));
      if (!out.duplicates.empty()) {
        result.set_outcome(v1::IMPORT_OUTCOME_DUPLICATE);
        for (const auto& d : out.duplicates) result.add_duplicate_of(d.client_id());
        result.set_error(std::string(DuplicateError(out.duplicates).message()));
      }
    } else {
      result.set_outcome(v1::IMPORT_OUTCOME_INVALID);
      result.set_error(std::string(valid.message()));
    }
    if (result.outcome() != v1::IMPORT_OUTCOME_CREATED && !rid.empty()) {
      events::Transaction txn;
      RETURN_IF_ERROR(record(txn));
      RETURN_IF_ERROR(outbox_->Commit(txn));
    }
    Count(resp, result);
    *resp.add_rows() = std::move(result);
  }
  if (!rid.empty()) {
    std::lock_guard lock(mu_);
    // A concurrent call with the same request id may have finished first: keep its report.
    ASSIGN_OR_RETURN(std::optional<v1::ImportClientsCsvResponse> first, replay.Prior());
    if (first.has_value()) return *std::move(first);
    // The whole report replaces the per-row progress, in one batch.
    events::Transaction txn;
    RETURN_IF_ERROR(replay.Record(txn.batch(), resp));
    std::vector<std::string> keys;
    RETURN_IF_ERROR(
        repo_->ScanRecords(ImportRowPrefix(rid), "", [&](std::string_view k, std::string_view) {
          keys.emplace_back(k);
          return true;
        }));
    for (const std::string& k : keys) RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), k));
    RETURN_IF_ERROR(repo_->DeleteRecord(txn.batch(), ImportJobKey(rid)));
    RETURN_IF_ERROR(outbox_->Commit(txn));
  }
  return resp;
}

}  // namespace triad::clients
