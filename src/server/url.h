// URL helpers for the transport and the router: percent-decoding and
// query-string splitting (RFC 3986 with the HTML form convention that '+' in
// a query is a space). Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::server {

// Decodes %XX escapes (either case of hex digit). A '%' not followed by two
// hex digits is kept as is, so a malformed escape never loses bytes. With
// `plus_is_space`, '+' decodes to ' ' (query strings); paths keep '+'.
std::string PercentDecode(std::string_view s, bool plus_is_space);

// Splits "a=1&b=x%20y&flag" into decoded pairs in order: {"a","1"},
// {"b","x y"}, {"flag",""}. Empty pieces ("a=1&&b=2") are skipped.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);

// Splits a request target "/p/a%2Fb?x=1" into its raw path and query
// ("/p/a%2Fb", "x=1"); neither is decoded.
std::pair<std::string_view, std::string_view> SplitTarget(std::string_view target);

}  // namespace vigil::server
