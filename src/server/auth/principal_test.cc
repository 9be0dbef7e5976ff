#include "server/auth/principal.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::server::auth {
namespace {

Principal Make(std::string name, Scope scope, std::vector<std::string> projects) {
  auto grant = std::make_shared<TokenGrant>();
  grant->name = std::move(name);
  grant->scope = scope;
  grant->projects = std::move(projects);
  EXPECT_TRUE(ValidateGrant(*grant).ok()) << ValidateGrant(*grant).ToString();
  return Principal(std::move(grant));
}

TEST(ProjectPattern, ExactNameMatchesOnlyItself) {
  EXPECT_TRUE(ProjectPatternMatches("digits", "digits"));
  EXPECT_FALSE(ProjectPatternMatches("digits", "digits2"));
  EXPECT_FALSE(ProjectPatternMatches("digits", "digit"));
  EXPECT_FALSE(ProjectPatternMatches("digits", "Digits"));
}

TEST(ProjectPattern, TrailingStarMatchesPrefix) {
  EXPECT_TRUE(ProjectPatternMatches("llm-*", "llm-7b"));
  EXPECT_TRUE(ProjectPatternMatches("llm-*", "llm-"));
  EXPECT_FALSE(ProjectPatternMatches("llm-*", "llm"));
  EXPECT_FALSE(ProjectPatternMatches("llm-*", "xllm-7b"));
}

TEST(ProjectPattern, StarAloneMatchesEverything) {
  EXPECT_TRUE(ProjectPatternMatches("*", "anything"));
  EXPECT_TRUE(ProjectPatternMatches("*", "a"));
}

TEST(Scope, NamesRoundTrip) {
  for (Scope s : {Scope::kRead, Scope::kWrite, Scope::kAdmin}) {
    auto parsed = ParseScope(ScopeName(s));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(s, *parsed);
  }
  auto bad = ParseScope("writer");
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(std::string::npos, bad.status().message().find("expected read, write or admin"));
  EXPECT_FALSE(ParseScope("Read").ok());
}

TEST(Principal, ReadScopeReadsListedProjectsOnly) {
  Principal p = Make("viewer", Scope::kRead, {"digits", "llm-*"});
  EXPECT_TRUE(p.Check("digits", Access::kRead).ok());
  EXPECT_TRUE(p.Check("llm-7b", Access::kRead).ok());
  Status st = p.Check("other", Access::kRead);
  EXPECT_EQ(StatusCode::kPermissionDenied, st.code());
  EXPECT_EQ("token 'viewer' may not read project 'other'", st.message());
}

TEST(Principal, ReadScopeNeverWrites) {
  Principal p = Make("viewer", Scope::kRead, {"*"});
  Status st = p.Check("digits", Access::kWrite);
  EXPECT_EQ(StatusCode::kPermissionDenied, st.code());
  EXPECT_EQ("token 'viewer' may not write to project 'digits'", st.message());
  EXPECT_TRUE(p.CanAccessAllProjects(Access::kRead));
  EXPECT_FALSE(p.CanAccessAllProjects(Access::kWrite));
}

TEST(Principal, WriteScopeImpliesRead) {
  Principal p = Make("trainer", Scope::kWrite, {"digits", "llm-*"});
  EXPECT_TRUE(p.Check("digits", Access::kWrite).ok());
  EXPECT_TRUE(p.Check("digits", Access::kRead).ok());
  EXPECT_TRUE(p.Check("llm-x", Access::kWrite).ok());
  Status st = p.Check("x", Access::kWrite);
  EXPECT_EQ(StatusCode::kPermissionDenied, st.code());
  EXPECT_EQ("token 'trainer' may not write to project 'x'", st.message());
  EXPECT_FALSE(p.CanAccess("x", Access::kRead));
  EXPECT_FALSE(p.CanAccessAllProjects(Access::kRead));
  EXPECT_FALSE(p.CanAccessAllProjects(Access::kWrite));
}

TEST(Principal, WriteScopeWithStarCoversAllProjects) {
  Principal p = Make("ci", Scope::kWrite, {"digits", "*"});
  EXPECT_TRUE(p.CanAccessAllProjects(Access::kWrite));
  EXPECT_TRUE(p.CanAccessAllProjects(Access::kRead));
  EXPECT_TRUE(p.Check("anything", Access::kWrite).ok());
}

TEST(Principal, AdminCoversEverything) {
  Principal p = Make("root", Scope::kAdmin, {});
  EXPECT_TRUE(p.Check("any", Access::kWrite).ok());
  EXPECT_TRUE(p.Check("any", Access::kRead).ok());
  EXPECT_TRUE(p.CanAccessAllProjects(Access::kWrite));
  EXPECT_TRUE(p.CanAccessAllProjects(Access::kRead));
}

TEST(Principal, UnrestrictedIsAnonymousAdmin) {
  Principal p = Principal::Unrestricted();
  EXPECT_EQ("anonymous", p.name());
  EXPECT_EQ(Scope::kAdmin, p.scope());
  EXPECT_TRUE(p.Check("x", Access::kWrite).ok());
}

TEST(ValidateGrant, RejectsEmptyOrOddNames) {
  EXPECT_TRUE(
      ValidateGrant({.name = "", .scope = Scope::kAdmin, .projects = {}}).IsInvalidArgument());
  EXPECT_TRUE(
      ValidateGrant({.name = "a'b", .scope = Scope::kAdmin, .projects = {}}).IsInvalidArgument());
  EXPECT_TRUE(
      ValidateGrant({.name = "a\nb", .scope = Scope::kAdmin, .projects = {}}).IsInvalidArgument());
  EXPECT_TRUE(ValidateGrant({.name = std::string(129, 'a'), .scope = Scope::kAdmin, .projects = {}})
                  .IsInvalidArgument());
  EXPECT_TRUE(
      ValidateGrant({.name = "trainer \"gpu\" ü", .scope = Scope::kAdmin, .projects = {}}).ok());
}

TEST(ValidateGrant, ReadAndWriteNeedProjects) {
  Status st = ValidateGrant({.name = "t", .scope = Scope::kWrite, .projects = {}});
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(std::string::npos, st.message().find("at least one project"));
  EXPECT_TRUE(
      ValidateGrant({.name = "t", .scope = Scope::kRead, .projects = {}}).IsInvalidArgument());
}

TEST(ValidateGrant, StarOnlyAtTheEnd) {
  Status st = ValidateGrant({.name = "t", .scope = Scope::kRead, .projects = {"a*b"}});
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(std::string::npos, st.message().find("only at the end"));
  EXPECT_TRUE(
      ValidateGrant({.name = "t", .scope = Scope::kRead, .projects = {"**"}}).IsInvalidArgument());
  EXPECT_TRUE(ValidateGrant({.name = "t", .scope = Scope::kRead, .projects = {"ab*"}}).ok());
}

TEST(ValidateGrant, PatternsFollowTheProjectGrammar) {
  EXPECT_TRUE(ValidateGrant({.name = "t", .scope = Scope::kRead, .projects = {"bad name"}})
                  .IsInvalidArgument());
  EXPECT_TRUE(
      ValidateGrant({.name = "t", .scope = Scope::kRead, .projects = {""}}).IsInvalidArgument());
  EXPECT_TRUE(
      ValidateGrant({.name = "t", .scope = Scope::kRead, .projects = {"-x*"}}).IsInvalidArgument());
}

TEST(ValidateGrant, AdminListsNoProjectsOrStar) {
  EXPECT_TRUE(ValidateGrant({.name = "t", .scope = Scope::kAdmin, .projects = {"*"}}).ok());
  Status st = ValidateGrant({.name = "t", .scope = Scope::kAdmin, .projects = {"digits"}});
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(std::string::npos, st.message().find("scope admin covers every project"));
}

}  // namespace
}  // namespace vigil::server::auth
