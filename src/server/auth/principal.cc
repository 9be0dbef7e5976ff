#include "server/auth/principal.h"

#include <cassert>

#include <fmt/format.h>

#include "core/names.h"

namespace vigil::server::auth {
namespace {

// A token's name appears in logs and error messages; the limit keeps both
// readable.
constexpr size_t kMaxTokenNameBytes = 128;

Status ValidatePattern(std::string_view name, std::string_view pattern) {
  if (pattern == "*") return Status::OK();
  std::string_view stem = pattern;
  if (!stem.empty() && stem.back() == '*') stem.remove_suffix(1);
  if (stem.find('*') != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("token '{}': project pattern {}: '*' may appear only at the end", name,
                    QuoteForMessage(pattern)));
  }
  // A prefix must itself be a valid beginning of a project name; every
  // non-empty prefix of a valid name is a valid name, so the same check
  // serves both.
  Status st = ValidateProjectName(stem);
  if (!st.ok()) {
    return Status::InvalidArgument(fmt::format("token '{}': project pattern {}: {}", name,
                                               QuoteForMessage(pattern), st.message()));
  }
  return Status::OK();
}

}  // namespace

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead:
      return "read";
    case Scope::kWrite:
      return "write";
    case Scope::kAdmin:
      return "admin";
  }
  return "unknown";
}

Result<Scope> ParseScope(std::string_view name) {
  if (name == "read") return Scope::kRead;
  if (name == "write") return Scope::kWrite;
  if (name == "admin") return Scope::kAdmin;
  return Status::InvalidArgument(
      fmt::format("unknown scope '{}' (expected read, write or admin)", name));
}

Status ValidateGrant(const TokenGrant& grant) {
  if (grant.name.empty()) return Status::InvalidArgument("token name must not be empty");
  if (grant.name.size() > kMaxTokenNameBytes || !IsValidUtf8(grant.name)) {
    return Status::InvalidArgument(
        fmt::format("token name {} must be valid UTF-8 of at most {} bytes",
                    QuoteForMessage(grant.name), kMaxTokenNameBytes));
  }
  for (char c : grant.name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\'') {
      return Status::InvalidArgument(fmt::format(
          "token name {} must not hold control characters or \"'\"", QuoteForMessage(grant.name)));
    }
  }
  if (grant.scope == Scope::kAdmin) {
    if (!grant.projects.empty() && !(grant.projects.size() == 1 && grant.projects[0] == "*")) {
      return Status::InvalidArgument(
          fmt::format("token '{}': scope admin covers every project; omit 'projects' or "
                      "set it to [\"*\"]",
                      grant.name));
    }
    return Status::OK();
  }
  if (grant.projects.empty()) {
    return Status::InvalidArgument(fmt::format(
        "token '{}': 'projects' must list at least one project (\"*\" for all)", grant.name));
  }
  for (const auto& p : grant.projects) VIGIL_RETURN_IF_ERROR(ValidatePattern(grant.name, p));
  return Status::OK();
}

bool ProjectPatternMatches(std::string_view pattern, std::string_view project) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return project.substr(0, pattern.size()) == pattern;
  }
  return pattern == project;
}

Principal::Principal(std::shared_ptr<const TokenGrant> grant) : grant_(std::move(grant)) {
  assert(grant_ != nullptr);
}

Principal Principal::Unrestricted() {
  static const auto* const kGrant =
      new std::shared_ptr<const TokenGrant>(std::make_shared<const TokenGrant>(
          TokenGrant{.name = "anonymous", .scope = Scope::kAdmin, .projects = {}}));
  return Principal(*kGrant);
}

bool Principal::ScopeAllows(Access access) const {
  return access == Access::kRead || grant_->scope != Scope::kRead;
}

bool Principal::CanAccess(std::string_view project, Access access) const {
  if (grant_->scope == Scope::kAdmin) return true;
  if (!ScopeAllows(access)) return false;
  for (const auto& p : grant_->projects) {
    if (ProjectPatternMatches(p, project)) return true;
  }
  return false;
}

bool Principal::CanAccessAllProjects(Access access) const {
  if (grant_->scope == Scope::kAdmin) return true;
  if (!ScopeAllows(access)) return false;
  for (const auto& p : grant_->projects) {
    if (p == "*") return true;
  }
  return false;
}

Status Principal::Check(std::string_view project, Access access) const {
  if (CanAccess(project, access)) return Status::OK();
  if (access == Access::kWrite) {
    return Status::PermissionDenied(
        fmt::format("token '{}' may not write to project '{}'", grant_->name, project));
  }
  return Status::PermissionDenied(
      fmt::format("token '{}' may not read project '{}'", grant_->name, project));
}

}  // namespace vigil::server::auth
