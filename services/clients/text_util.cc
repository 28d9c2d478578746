// Implements the normaliser and the CSV reader of the clients service.
#include "services/clients/text_util.h"

#include <algorithm>
#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace triad::clients {
namespace {

// DecodeUtf8 reads code points; invalid sequences are skipped byte by byte.
std::vector<char32_t> DecodeUtf8(std::string_view s) {
  std::vector<char32_t> out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    int len = 0;
    char32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      ++i;
      continue;
    }
    if (i + len > s.size()) break;
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (!ok) {
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// FoldChar maps one code point: full-width ASCII to half-width, ideographic space to space.
char32_t FoldChar(char32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;
  if (cp == 0x3000) cp = ' ';
  if (cp >= 'A' && cp <= 'Z') cp = cp - 'A' + 'a';
  return cp;
}

bool IsSeparator(char32_t cp) {
  if (cp < 0x80) {
    return !((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9'));
  }
  return (cp >= 0x2000 && cp <= 0x206F) ||  // general punctuation
         (cp >= 0x3000 && cp <= 0x303F) ||  // CJK symbols and punctuation
         (cp >= 0xFF00 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
         (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65) || cp == 0x00A0 ||
         cp == 0x00B7 || cp == 0xFEFF;
}

// Latin legal-form words removed from the end of a folded name.
constexpr std::array<std::string_view, 24> kLatinSuffixes = {
    "co",   "ltd", "limited", "inc", "incorporated", "corp", "corporation", "company",
    "gmbh", "llc", "llp",     "lp",  "plc",          "ag",   "sa",          "srl",
    "bv",   "pte", "pty",     "kk",  "oy",           "ab",   "group",       "holdings"};

// CJK legal forms, longest first.
constexpr std::array<std::string_view, 8> kCjkSuffixes = {
    "集团股份有限公司", "股份有限公司", "有限责任公司", "集团有限公司",
    "有限公司",         "集团公司",     "公司",         "集团"};

}  // namespace

std::string FoldText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char32_t cp : DecodeUtf8(text)) {
    cp = FoldChar(cp);
    if (IsSeparator(cp) || cp == ' ') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    AppendUtf8(cp, out);
  }
  return out;
}

std::string NormalizeName(std::string_view name) {
  std::vector<std::string> tokens = absl::StrSplit(FoldText(name), ' ', absl::SkipEmpty());
  std::vector<std::string> original = tokens;
  bool changed = true;
  while (changed && !tokens.empty()) {
    changed = false;
    std::string& last = tokens.back();
    for (std::string_view suffix : kLatinSuffixes) {
      if (last == suffix && tokens.size() > 1) {
        tokens.pop_back();
        changed = true;
        break;
      }
    }
    if (changed) continue;
    // A token that is itself a legal form is dropped only when other tokens remain.
    bool whole = std::find(kCjkSuffixes.begin(), kCjkSuffixes.end(), last) != kCjkSuffixes.end();
    if (whole) {
      if (tokens.size() > 1) {
        tokens.pop_back();
        changed = true;
      }
      continue;
    }
    for (std::string_view suffix : kCjkSuffixes) {
      if (last.size() > suffix.size() && std::string_view(last).ends_with(suffix)) {
        last.resize(last.size() - suffix.size());
        changed = true;
        break;
      }
    }
  }
  if (tokens.empty()) tokens = original;
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

std::string NormalizeSearch(std::string_view text) {
  std::string folded = FoldText(text);
  folded.erase(std::remove(folded.begin(), folded.end(), ' '), folded.end());
  return folded;
}

std::string NormalizeTaxId(std::string_view tax_id) {
  std::string out;
  for (char32_t cp : DecodeUtf8(tax_id)) {
    cp = FoldChar(cp);
    if ((cp >= 'a' && cp <= 'z')) out.push_back(static_cast<char>(cp - 'a' + 'A'));
    if (cp >= '0' && cp <= '9') out.push_back(static_cast<char>(cp));
  }
  return out;
}

std::string NormalizePhone(std::string_view phone) {
  std::string digits;
  for (char32_t cp : DecodeUtf8(phone)) {
    cp = FoldChar(cp);
    if (cp >= '0' && cp <= '9') digits.push_back(static_cast<char>(cp));
  }
  if (absl::StartsWith(digits, "0086") && digits.size() > 11) {
    digits.erase(0, 4);
  } else if (absl::StartsWith(digits, "86") && digits.size() > 11) {
    digits.erase(0, 2);
  }
  if (absl::StartsWith(digits, "0") && digits.size() > 6) digits.erase(0, 1);
  if (digits.size() < 6) return "";
  return digits;
}

std::string EmailDomain(std::string_view email) {
  std::string folded;
  for (char32_t cp : DecodeUtf8(email)) AppendUtf8(FoldChar(cp), folded);
  size_t at = folded.rfind('@');
  if (at == std::string::npos) return "";
  std::string domain(absl::StripAsciiWhitespace(folded.substr(at + 1)));
  if (domain.find('.') == std::string::npos) return "";
  static constexpr std::array<std::string_view, 16> kPublic = {
      "gmail.com", "qq.com",     "163.com",  "126.com",     "yeah.net",    "sina.com",
      "sina.cn",   "sohu.com",   "139.com",  "foxmail.com", "outlook.com", "hotmail.com",
      "yahoo.com", "icloud.com", "live.com", "aliyun.com"};
  for (std::string_view p : kPublic) {
    if (domain == p) return "";
  }
  return domain;
}

absl::StatusOr<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool in_quotes = false;
  bool field_started = false;
  int line = 1;
  int quote_line = 0;
  auto end_row = [&]() {
    if (field_started || !row.empty()) {
      row.push_back(std::move(field));
      bool blank = std::all_of(row.begin(), row.end(), [](const std::string& f) {
        return absl::StripAsciiWhitespace(f).empty();
      });
      if (!blank) rows.push_back(std::move(row));
    }
    row.clear();
    field.clear();
    field_started = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    switch (c) {
      case '"':
        in_quotes = true;
        quote_line = line;
        field_started = true;
        break;
      case ',':
        row.push_back(std::move(field));
        field.clear();
        field_started = true;
        break;
      case '\r':
        break;
      case '\n':
        end_row();
        ++line;
        break;
      default:
        field.push_back(c);
        field_started = true;
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(
        absl::StrCat("csv: unterminated quoted field starting on line ", quote_line));
  }
  end_row();
  return rows;
}

}  // namespace triad::clients
