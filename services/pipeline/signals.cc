// Implements Pipeline's market-demand signals: record, get, list.

#include "absl/strings/str_cat.h"
#include "common/api/pager.h"
#include "common/api/replay.h"
#include "common/api/validation.h"
#include "common/contracts/emit.h"
#include "common/contracts/pipeline.h"
#include "common/status/status_macros.h"
#include "common/util/ids.h"
#include "common/util/proto_time.h"
#include "services/pipeline/pipeline.h"
#include "services/pipeline/pipeline_internal.h"

namespace triad::pipeline {

absl::StatusOr<v1::Signal> Pipeline::RecordSignal(const v1::RecordSignalRequest& req) {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  constexpr char kMethod[] = "RecordSignal";
  const v1::Signal& in = req.signal();
  RETURN_IF_ERROR(api::CheckId("signal.source", in.source()));
  RETURN_IF_ERROR(api::CheckId("signal.region", in.region()));
  RETURN_IF_ERROR(api::CheckId("signal.sector", in.sector()));
  RETURN_IF_ERROR(
      api::CheckMoney("signal.estimated_size", in.estimated_size(), api::MoneyPresence::kOptional));
  std::lock_guard lock(mu_);
  if (!in.product_line().empty() && playbooks_.count(in.product_line()) == 0) {
    return InvalidField("signal.product_line",
                        absl::StrCat("'", in.product_line(), "' has no playbook"));
  }
  const api::Replay<v1::Signal> replay(*store_, kMethod, req.request_id(), req);
  ASSIGN_OR_RETURN(std::optional<v1::Signal> prior, replay.Prior());
  if (prior.has_value()) return *std::move(prior);
  absl::Time now = options_.clock();
  v1::Signal s = in;
  s.set_id(util::NewId("sig"));
  *s.mutable_create_time() = ToProto(now);
  Work work;
  repo_->PutProto(work.txn.batch(), Kind::kSignal, s.id(), s);
  repo_->PutRaw(work.txn.batch(), Kind::kList, WithId(RegionSignalPrefix(s.region()), s.id()), "");
  RETURN_IF_ERROR(replay.Record(work.txn.batch(), s));
  v1::SignalRecorded ev;
  ev.set_signal_id(s.id());
  ev.set_source(s.source());
  ev.set_region(s.region());
  ev.set_sector(s.sector());
  *ev.mutable_estimated_size() = s.estimated_size();
  ev.set_product_line(s.product_line());
  ev.set_recorded_by(s.recorded_by());
  *ev.mutable_record_time() = s.create_time();
  ev.set_description(s.description());
  contracts::Emit<contracts::pipeline::SignalRecorded>(work.txn, s.id(), ev);
  work.deltas.push_back(
      Delta{DayOf(now),
            Dims{"", "", s.product_line(), s.region(), 0, 0, s.estimated_size().currency()},
            "signal",
            {1, s.estimated_size().amount_minor(), 0}});
  RETURN_IF_ERROR(CommitLocked(work));
  return s;
}

absl::StatusOr<v1::Signal> Pipeline::GetSignal(const v1::GetSignalRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  RETURN_IF_ERROR(api::CheckId("signal_id", req.signal_id()));
  v1::Signal s;
  absl::Status st = repo_->GetProto(Kind::kSignal, req.signal_id(), &s);
  if (absl::IsNotFound(st)) return absl::NotFoundError("signal " + req.signal_id() + " not found");
  RETURN_IF_ERROR(st);
  return s;
}

// ReadListed reads the record a list scan is at: through an index entry when `prefix` is set (the
// key ends with the record id) or from the table value itself. False when an index entry's record
// is gone and the scan should move on.

absl::StatusOr<v1::ListSignalsResponse> Pipeline::ListSignals(
    const v1::ListSignalsRequest& req) const {
  RETURN_IF_ERROR(api::CheckUtf8(req));
  ASSIGN_OR_RETURN(api::Pager pager,
                   api::Pager::Start(req.page_size(), req.page_token(), req.region()));
  v1::ListSignalsResponse resp;
  absl::Status inner;
  // By region the region index is walked; without a filter, the table.
  const std::string prefix = req.region().empty() ? "" : RegionSignalPrefix(req.region());
  RETURN_IF_ERROR(repo_->Scan(
      prefix.empty() ? Kind::kSignal : Kind::kList, prefix,
      [&](std::string_view key, std::string_view v) {
        ++list_examined_;
        v1::Signal s;
        absl::StatusOr<bool> found = ReadListed(Kind::kSignal, prefix, key, v, &s);
        if (!found.ok()) {
          inner = found.status();
          return false;
        }
        if (!*found) return true;  // an index entry whose record is gone
        if (!req.region().empty() && s.region() != req.region()) return true;
        if (!pager.Accept(key)) return false;
        *resp.add_signals() = std::move(s);
        return true;
      },
      pager.after_key()));
  RETURN_IF_ERROR(inner);
  resp.set_next_page_token(pager.NextPageToken());
  return resp;
}

}  // namespace triad::pipeline
