// Implements the request fuzzer and the seed of randomized tests.
#include "tests/testing/fuzzer.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/stubs/common.h"

namespace triad::testing {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

int Fuzzer::Pick(int n) {
  if (n <= 1) return 0;
  return std::uniform_int_distribution<int>(0, n - 1)(rng_);
}

int Fuzzer::Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

bool Fuzzer::Coin(int percent) { return Pick(100) < percent; }

void Fuzzer::Remember(const std::string& pool, const std::string& value) {
  if (value.empty()) return;
  std::vector<std::string>& p = pools[pool];
  if (std::find(p.begin(), p.end(), value) != p.end()) return;
  if (p.size() < 64) {
    p.push_back(value);
  } else {
    p[std::hash<std::string>()(value) % p.size()] = value;
  }
}

std::string Fuzzer::Bytes(int max_len) {
  std::string s(static_cast<size_t>(Int(0, max_len)), '\0');
  for (char& c : s) c = static_cast<char>(Int(0, 255));
  return s;
}

std::string Fuzzer::WildString() {
  switch (Pick(13)) {
    case 0:
      return "";
    case 1:
      return OneOf(std::vector<std::string>{" ", "\t", "\n", "  \r\n "});
    case 2: {
      std::string s;
      for (int i = Int(1, 12); i > 0; --i) s.push_back("abcdefxyz0123456789-_:"[Pick(22)]);
      return s;
    }
    case 3:
      return Coin(30) ? std::string(100 * 1024, 'x') : std::string(Int(190, 320), 'y');
    case 4:
      return OneOf(std::vector<std::string>{"\xff\xfe", "abc\xc3", "\xed\xa0\x80 surrogate",
                                            "\xc0\xaf overlong", "ok\x80", "\xf4\x90\x80\x80",
                                            "bad\xc3\x28utf8\xff"});
    case 5:
      return OneOf(std::vector<std::string>{"ＡＣＭＥ　Ｄｅｓｉｇｎ，Ｉｎｃ．",
                                            "１３８００１３８０００",
                                            "ｉｎｆｏ＠ｈｕａｘｉｎ．ｃｎ", "北京华信设计有限公司",
                                            "有限公司", "（）。，", "工程设计"});
    case 6:
      return OneOf(std::vector<std::string>{"!!!", "...", ",", "\"", "\"\"", ";;;", "@"});
    case 7:
      return Bytes(24);
    case 8:
      return std::string(Int(1999, 2001), 'z');
    case 9:
      return std::string("nul\0inside", 10);
    case 10:
      return OneOf(std::vector<std::string>{"Acme Co., Ltd.", "ACME", "Huaxin Design",
                                            "a@b.example", "13800138000", "91110000AB1234"});
    default:
      return absl::StrCat("v", Int(0, 1000000));
  }
}

std::string Fuzzer::Str(const std::string& field) {
  auto alias = aliases.find(field);
  const std::string& pool_name = alias == aliases.end() ? field : alias->second;
  auto pool = pools.find(pool_name);
  const bool has_pool = pool != pools.end() && !pool->second.empty();
  if (Tame()) {
    if (auto tp = tame_pools.find(pool_name); tp != tame_pools.end() && !tp->second.empty()) {
      return OneOf(tp->second);
    }
    if (has_pool && Coin(85)) return OneOf(pool->second);
    return absl::StrCat("w", Pick(tame_words));
  }
  if (has_pool && Coin(50)) return OneOf(pool->second);
  return WildString();
}

int64_t Fuzzer::Int64() {
  if (Tame()) return Pick(1000) + 1;
  static const std::vector<int64_t> kEdge = {0,
                                             1,
                                             -1,
                                             2,
                                             7,
                                             100,
                                             1'000'000,
                                             1'000'000'000'000'000,
                                             1'000'000'000'000'001,
                                             std::numeric_limits<int32_t>::max(),
                                             std::numeric_limits<int32_t>::min(),
                                             std::numeric_limits<int64_t>::max(),
                                             std::numeric_limits<int64_t>::min()};
  return Coin(20) ? Int(-1000, 1000) : OneOf(kEdge);
}

int32_t Fuzzer::Int32() {
  if (Tame()) return Pick(6);
  static const std::vector<int32_t> kEdge = {0,
                                             1,
                                             -1,
                                             2,
                                             3,
                                             50,
                                             1000,
                                             4000,
                                             std::numeric_limits<int32_t>::max(),
                                             std::numeric_limits<int32_t>::min()};
  return OneOf(kEdge);
}

double Fuzzer::Double() {
  if (Tame()) return Coin(50) ? 0.5 : 120;
  static const std::vector<double> kEdge = {0,
                                            0.5,
                                            1,
                                            -1,
                                            120,
                                            1e308,
                                            std::nan(""),
                                            std::numeric_limits<double>::infinity(),
                                            -std::numeric_limits<double>::infinity()};
  return OneOf(kEdge);
}

void Fuzzer::FillTimestamp(google::protobuf::Timestamp* t) {
  if (Tame()) {
    t->set_seconds(absl::ToUnixSeconds(tame_time + absl::Hours(24 * (Pick(400) - 100))));
    return;
  }
  static const std::vector<int64_t> kSeconds = {0,
                                                -62135596801,  // just before year 1
                                                -62135596800,
                                                253402300799,
                                                253402300800,  // just after year 9999
                                                std::numeric_limits<int64_t>::max(),
                                                std::numeric_limits<int64_t>::min()};
  t->set_seconds(Coin(30) ? absl::ToUnixSeconds(tame_time) + Int(-1000000, 100000000)
                          : OneOf(kSeconds));
  static const std::vector<int32_t> kNanos = {
      0, 500, -1, 999999999, 1'000'000'000, std::numeric_limits<int32_t>::max()};
  t->set_nanos(Coin(70) ? 0 : OneOf(kNanos));
}

void Fuzzer::FillMask(google::protobuf::FieldMask* m) {
  if (mask_paths.empty()) return;
  const int valid = std::clamp(valid_mask_paths, 1, static_cast<int>(mask_paths.size()));
  for (int i = Pick(5); i > 0; --i) {
    m->add_paths(Tame() ? mask_paths[static_cast<size_t>(Pick(valid))] : OneOf(mask_paths));
  }
}

int Fuzzer::EnumValue(const FieldDescriptor* f) {
  const auto* e = f->enum_type();
  if (Tame() || Coin(75)) return e->value(Pick(e->value_count()))->number();
  return OneOf(std::vector<int>{-1, e->value_count(), e->value_count() + 7, Pick(200) + 10, 1 << 30,
                                std::numeric_limits<int32_t>::min()});
}

void Fuzzer::SetOne(Message* m, const FieldDescriptor* f, int percent, int depth) {
  const Reflection* r = m->GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string v = f->type() == FieldDescriptor::TYPE_BYTES
                          ? (bytes ? bytes(*this, f) : Bytes(200))
                          : Str(std::string(f->name()));
      rep ? r->AddString(m, f, std::move(v)) : r->SetString(m, f, std::move(v));
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64:
      rep ? r->AddInt64(m, f, Int64()) : r->SetInt64(m, f, Int64());
      break;
    case FieldDescriptor::CPPTYPE_INT32:
      rep ? r->AddInt32(m, f, Int32()) : r->SetInt32(m, f, Int32());
      break;
    case FieldDescriptor::CPPTYPE_UINT64:
      rep ? r->AddUInt64(m, f, static_cast<uint64_t>(Int64()))
          : r->SetUInt64(m, f, static_cast<uint64_t>(Int64()));
      break;
    case FieldDescriptor::CPPTYPE_UINT32:
      rep ? r->AddUInt32(m, f, static_cast<uint32_t>(Int32()))
          : r->SetUInt32(m, f, static_cast<uint32_t>(Int32()));
      break;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      rep ? r->AddDouble(m, f, Double()) : r->SetDouble(m, f, Double());
      break;
    case FieldDescriptor::CPPTYPE_FLOAT:
      rep ? r->AddFloat(m, f, static_cast<float>(Double()))
          : r->SetFloat(m, f, static_cast<float>(Double()));
      break;
    case FieldDescriptor::CPPTYPE_BOOL:
      rep ? r->AddBool(m, f, Coin(50)) : r->SetBool(m, f, Coin(50));
      break;
    case FieldDescriptor::CPPTYPE_ENUM:
      rep ? r->AddEnumValue(m, f, EnumValue(f)) : r->SetEnumValue(m, f, EnumValue(f));
      break;
    case FieldDescriptor::CPPTYPE_MESSAGE:
      if (depth > 3) break;
      Fill(rep ? r->AddMessage(m, f) : r->MutableMessage(m, f), percent, depth + 1);
      break;
  }
}

void Fuzzer::Fill(Message* m, int percent, int depth) {
  const Descriptor* d = m->GetDescriptor();
  if (d->full_name() == "google.protobuf.Timestamp") {
    FillTimestamp(static_cast<google::protobuf::Timestamp*>(m));
    return;
  }
  if (d->full_name() == "google.protobuf.FieldMask") {
    FillMask(static_cast<google::protobuf::FieldMask*>(m));
    return;
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (!Coin(percent)) continue;
    int n = 1;
    if (f->is_repeated()) n = depth > 2 ? 0 : (Coin(5) ? Int(20, 60) : Pick(4));
    for (int k = 0; k < n; ++k) SetOne(m, f, percent, depth);
  }
}

void Fuzzer::Learn(const Message& m, int depth) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  if (auto it = harvest_ids.find(std::string(d->name())); it != harvest_ids.end()) {
    if (const FieldDescriptor* id = d->FindFieldByName("id");
        id != nullptr && id->cpp_type() == FieldDescriptor::CPPTYPE_STRING && !id->is_repeated()) {
      Remember(it->second, r->GetString(m, id));
    }
  }
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (depth > 2) continue;
      const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
      for (int i = 0; i < n; ++i) {
        Learn(f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), depth + 1);
      }
      continue;
    }
    if (f->cpp_type() != FieldDescriptor::CPPTYPE_STRING || f->is_repeated()) continue;
    const std::string name(f->name());
    if (name == "next_page_token") {
      Remember("page_token", r->GetString(m, f));
    } else if (auto it = harvest.find(name); it != harvest.end()) {
      Remember(it->second, r->GetString(m, f));
    }
  }
}

bool NamesRequestField(std::string_view message, const Descriptor* request) {
  size_t colon = message.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string path(message.substr(0, colon));
  const Descriptor* d = request;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    std::string p(part.substr(0, part.find('[')));
    if (d == nullptr) return false;
    const FieldDescriptor* f = d->FindFieldByName(p);
    if (f == nullptr) return false;
    d = f->message_type();
  }
  return true;
}

bool AllStringsValid(const Message& m, std::string* where) {
  const Reflection* r = m.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  r->ListFields(m, &fields);
  for (const FieldDescriptor* f : fields) {
    const int n = f->is_repeated() ? r->FieldSize(m, f) : 1;
    if (f->type() == FieldDescriptor::TYPE_STRING) {
      for (int i = 0; i < n; ++i) {
        std::string v = f->is_repeated() ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
        if (!google::protobuf::internal::IsStructurallyValidUTF8(v.data(),
                                                                 static_cast<int>(v.size()))) {
          *where = std::string(f->full_name());
          return false;
        }
      }
    } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      for (int i = 0; i < n; ++i) {
        if (!AllStringsValid(
                f->is_repeated() ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f), where)) {
          return false;
        }
      }
    }
  }
  return true;
}

}  // namespace triad::testing
