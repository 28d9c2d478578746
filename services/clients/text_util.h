// Text helpers of the clients service: the deterministic duplicate-detection normaliser (names,
// tax ids, phones, e-mail domains) and an RFC 4180 CSV reader for client imports.
#ifndef TRIAD_SERVICES_CLIENTS_TEXT_UTIL_H_
#define TRIAD_SERVICES_CLIENTS_TEXT_UTIL_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace triad::clients {

// FoldText maps full-width ASCII forms (U+FF01..U+FF5E, U+3000) to their half-width forms,
// lower-cases ASCII letters, turns punctuation (ASCII, CJK and general punctuation) into
// spaces and collapses whitespace runs to one space, trimmed. Invalid UTF-8 bytes are dropped.
std::string FoldText(std::string_view text);

// NormalizeName returns the duplicate-detection key of a company name: FoldText, then common
// legal-form suffixes (有限公司, 股份有限公司, 有限责任公司, Co., Ltd., Inc., GmbH, LLC, Corp ...)
// removed from the end, then all spaces removed. Never empty for a name with letters/digits.
std::string NormalizeName(std::string_view name);

// NormalizeSearch returns the key used for name-prefix search: FoldText without spaces (the
// legal-form suffix is kept so that a prefix of the full name matches).
std::string NormalizeSearch(std::string_view text);

// NormalizeTaxId keeps ASCII letters and digits (after full-width folding), upper-cased.
std::string NormalizeTaxId(std::string_view tax_id);

// NormalizePhone keeps the digits; a leading "0086"/"86" country code on a long number and a
// leading trunk "0" are dropped. Returns "" when fewer than 6 digits remain.
std::string NormalizePhone(std::string_view phone);

// EmailDomain returns the lower-cased domain of an e-mail address, or "" when there is none or
// it is a public mailbox provider (gmail.com, qq.com, 163.com ...), which says nothing about
// the company.
std::string EmailDomain(std::string_view email);

// ParseCsv splits CSV text into rows of fields (quotes, doubled quotes, CRLF or LF, a leading
// UTF-8 BOM). Blank lines are skipped. InvalidArgument names the line of an unterminated quote.
absl::StatusOr<std::vector<std::vector<std::string>>> ParseCsv(std::string_view text);

}  // namespace triad::clients

#endif  // TRIAD_SERVICES_CLIENTS_TEXT_UTIL_H_
