#include "protocol/request.hpp"
#include "protocol/requests.hpp"

#include <gtest/gtest.h>

#include <string>

namespace remo::protocol {
namespace {

Error parse_error(std::string_view line, Request& request) {
  auto parsed = parse_request(line, request);
  EXPECT_FALSE(parsed.ok()) << line;
  return parsed.ok() ? Error{} : parsed.error();
}

TEST(ParseRequest, ReadsOpAndEchoableId) {
  Request request;
  ASSERT_TRUE(parse_request(R"({"op":"get","name":"X","id":7})", request).ok());
  EXPECT_EQ(request.op, "get");
  EXPECT_EQ(request.id, 7);
  ASSERT_TRUE(parse_request(R"({"id":"abc","op":"ping"})", request).ok());
  EXPECT_EQ(request.id, "abc");
  ASSERT_TRUE(parse_request(R"({"op":"ping"})", request).ok());
  EXPECT_TRUE(request.id.is_null());
}

TEST(ParseRequest, EveryMalformedLineIsAProtocolError) {
  for (const std::string& line :
       {std::string(R"({"op":"get",)"), std::string("[1,2,3]"), std::string("\"get\""), std::string("42"),
        std::string("null"), std::string("{}"), std::string(R"({"op":42})"), std::string(R"({"op":null})"),
        std::string("nonsense")}) {
    Request request;
    const Error error = parse_error(line, request);
    EXPECT_EQ(error.code, "protocol_error") << line;
    EXPECT_FALSE(error.message.empty()) << line;
  }
}

TEST(ParseRequest, RejectsInvalidUtf8AndNulBeforeParsing) {
  Request request;
  EXPECT_EQ(parse_error("{\"op\":\"get\",\"name\":\"\xff\xfe\"}", request).message,
            "request is not valid UTF-8");
  EXPECT_EQ(parse_error(std::string("{\"op\":\"ping\"}\0{\"op\":\"ping\"}", 27), request).message,
            "request contains a NUL byte");
}

TEST(ParseRequest, RejectsIdsThatAreNotIntegersOrShortStrings) {
  for (const std::string& line :
       {std::string(R"({"op":"ping","id":1.5})"), std::string(R"({"op":"ping","id":true})"),
        std::string(R"({"op":"ping","id":{}})"),
        R"({"op":"ping","id":")" + std::string(kMaxIdLength + 1, 'x') + "\"}"}) {
    Request request;
    EXPECT_EQ(parse_error(line, request).code, "protocol_error") << line;
  }
}

TEST(ParseRequest, KeepsAValidIdWhenTheRestIsBad) {
  Request request;
  parse_error(R"({"op":7,"id":"req-1"})", request);
  EXPECT_EQ(request.id, "req-1");
}

TEST(RequestFields, UnknownFieldsAreRefusedAndNamed) {
  Request request;
  ASSERT_TRUE(
      parse_request(R"({"op":"register","name":"p","project_path":"/p","uid":[1000]})", request).ok());
  const auto checked = protocol::RegisterRequest::parse(request);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message, "unknown field 'uid' for op 'register'");
}

TEST(RequestFields, UnquotableFieldNamesAreNotEchoed) {
  Request request;
  ASSERT_TRUE(parse_request(R"({"op":"ping","CANARY value!":1})", request).ok());
  const auto checked = protocol::PingRequest::parse(request);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message.find("CANARY"), std::string::npos);
}

TEST(RequestFields, StringFieldMustBePresentAStringAndNulFree) {
  Request request;
  ASSERT_TRUE(parse_request(R"({"op":"get","name":"A","n":7,"z":"a\u0000b"})", request).ok());
  EXPECT_EQ(*string_field(request, "name"), "A");
  EXPECT_EQ(string_field(request, "missing").error().message, "missing field 'missing'");
  EXPECT_EQ(string_field(request, "n").error().message, "field 'n' must be a string");
  EXPECT_EQ(string_field(request, "z").error().code, "protocol_error");
}

TEST(RequestFields, IdFieldsTakeNonNegative32BitValuesOnly) {
  Request request;
  ASSERT_TRUE(parse_request(R"({"op":"register","uids":[0,1000],"gid":100})", request).ok());
  EXPECT_EQ(**optional_id_list_field(request, "uids"), (std::vector<std::uint32_t>{0, 1000}));
  EXPECT_EQ(**optional_id_field(request, "gid"), 100U);
  EXPECT_FALSE(optional_id_field(request, "absent")->has_value());
  for (const char* line : {R"({"op":"r","gid":-1})", R"({"op":"r","gid":4294967295})",
                           R"({"op":"r","gid":1.0})", R"({"op":"r","gid":"100"})"}) {
    ASSERT_TRUE(parse_request(line, request).ok());
    EXPECT_FALSE(optional_id_field(request, "gid").ok()) << line;
  }
  for (const char* line :
       {R"({"op":"r","uids":1000})", R"({"op":"r","uids":[1000,-5]})", R"({"op":"r","uids":["a"]})"}) {
    ASSERT_TRUE(parse_request(line, request).ok());
    EXPECT_FALSE(optional_id_list_field(request, "uids").ok()) << line;
  }
}

// What parse_request does to a refused request's tree, and the admin socket to a request the audit log
// refuses: every string value zeroed, at any depth, keys and other values kept.
TEST(WipeStrings, ZeroesEveryStringValueAtAnyDepth) {
  Json body =
      Json::parse(R"({"op":"x","identity":"CANARY-key","n":7,"list":["CANARY-a",{"deep":"CANARY-b"}]})");
  wipe_strings(body);
  const auto zeroed = [](const Json& value) {
    const auto& text = value.get_ref<const std::string&>();
    return !text.empty() && text.find_first_not_of('\0') == std::string::npos;
  };
  EXPECT_TRUE(zeroed(body["op"]));
  EXPECT_TRUE(zeroed(body["identity"]));
  EXPECT_TRUE(zeroed(body["list"][0]));
  EXPECT_TRUE(zeroed(body["list"][1]["deep"]));
  EXPECT_EQ(body["n"], 7);
  EXPECT_EQ(body.dump().find("CANARY"), std::string::npos);
}

}  // namespace
}  // namespace remo::protocol
