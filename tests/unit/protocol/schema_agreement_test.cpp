// The typed requests (protocol/requests.hpp) and protocol/remo-broker.schema.json describe the same
// requests: for every op, the same fields, the same JSON types, the same required ones, and the schema
// refuses other fields as the parser does. Every op the schema knows has a type, and every type's op is in
// the schema and in the op lists of protocol/ops.hpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>

#include "protocol/ops.hpp"
#include "protocol/requests.hpp"

namespace remo::protocol {
namespace {

using Schema = nlohmann::json;

const Schema& schema() {
  static const Schema loaded = [] {
    std::ifstream in(std::string(REMO_TEST_DATA_DIR) + "/../../protocol/remo-broker.schema.json");
    return Schema::parse(in);
  }();
  return loaded;
}

const Schema& defs() { return schema().at("$defs"); }

// Follows "$ref": "#/$defs/NAME" until a schema with a "type" (or none).
const Schema& resolved(const Schema& node) {
  const Schema* at = &node;
  while (!at->contains("type") && at->contains("$ref")) {
    const auto ref = at->at("$ref").get<std::string>();
    at = &defs().at(ref.substr(std::string("#/$defs/").size()));
  }
  return *at;
}

std::string schema_type(const Schema& property) {
  const Schema& node = resolved(property);
  if (!node.contains("type")) return "(none)";
  const std::string type = node.at("type").is_string() ? node.at("type").get<std::string>() : "(several)";
  if (type != "array") return type;
  return "array of " + schema_type(node.at("items"));
}

std::string spec_type(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kInteger:
      return "integer";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kIntegerList:
      return "array of integer";
  }
  return "?";
}

std::string def_name(std::string_view op) {
  std::string name = "request_" + std::string(op);
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// A request definition's properties and required names, following a "$ref" to bare_request.
struct Described {
  std::map<std::string, const Schema*> properties;
  std::set<std::string> required;
  bool closed = false;  // additionalProperties: false
};

Described described(const Schema& def) {
  Described out;
  const auto take = [&out](const Schema& node) {
    if (node.contains("properties")) {
      for (const auto& [key, value] : node.at("properties").items()) out.properties.emplace(key, &value);
    }
    if (node.contains("required")) {
      for (const auto& key : node.at("required")) out.required.insert(key.get<std::string>());
    }
    if (node.value("additionalProperties", true) == false) out.closed = true;
  };
  take(def);
  if (def.contains("$ref")) take(defs().at(def.at("$ref").get<std::string>().substr(8)));
  return out;
}

template <class Typed>
void expect_agreement() {
  SCOPED_TRACE(std::string(Typed::kOp));
  const std::string name = def_name(Typed::kOp);
  ASSERT_TRUE(defs().contains(name)) << "the schema has no " << name;
  const Schema& def = defs().at(name);
  const Described schema_side = described(def);

  ASSERT_TRUE(schema_side.properties.contains("op"));
  EXPECT_EQ(schema_side.properties.at("op")->value("const", ""), Typed::kOp);
  EXPECT_TRUE(schema_side.closed) << name << " must refuse unknown fields (additionalProperties: false)";
  EXPECT_TRUE(schema_side.properties.contains("id") || def.contains("$ref"));

  std::set<std::string> schema_fields;
  for (const auto& [key, property] : schema_side.properties) {
    if (key != "op" && key != "id") schema_fields.insert(key);
  }
  std::set<std::string> typed_fields;
  for (const FieldSpec& spec : Typed::kFields) {
    const std::string field(spec.name);
    typed_fields.insert(field);
    if (!schema_side.properties.contains(field)) continue;
    EXPECT_EQ(spec_type(spec.type), schema_type(*schema_side.properties.at(field))) << "field " << field;
    EXPECT_EQ(spec.required, schema_side.required.contains(field)) << "field " << field << " required";
  }
  EXPECT_EQ(typed_fields, schema_fields);
}

template <class... Typed>
void expect_all() {
  (expect_agreement<Typed>(), ...);
}

using AllRequests =
    std::tuple<PingRequest, InfoRequest, GetRequest, ClaimRequest, DeleteRequest, StatusRequest,
               GetPublicKeyRequest, PushCredsRequest, SecretDigestsRequest, ClearCredsRequest,
               RegisterRequest, UnregisterRequest, ReloadRequest, RotateBootstrapRequest, ClaimCreateRequest,
               ClaimListRequest, ClaimRevokeRequest, LockRequest, UnlockRequest>;

TEST(SchemaAgreement, EveryTypedRequestMatchesItsSchemaDefinition) {
  std::apply([](auto... typed) { expect_all<decltype(typed)...>(); }, AllRequests{});
}

TEST(SchemaAgreement, EveryOpHasOneTypeAndOneSchemaDefinition) {
  std::set<std::string> typed_ops;
  std::apply([&typed_ops](auto... typed) { (typed_ops.insert(std::string(decltype(typed)::kOp)), ...); },
             AllRequests{});
  std::set<std::string> listed_ops;
  for (const auto op : op::kProjectOps) listed_ops.insert(std::string(op));
  for (const auto op : op::kAdminOps) listed_ops.insert(std::string(op));
  EXPECT_EQ(typed_ops, listed_ops);
  EXPECT_EQ(typed_ops.size(), op::kProjectOps.size() + op::kAdminOps.size()) << "an op is listed twice";

  std::set<std::string> schema_ops;
  for (const auto& choice : defs().at("request").at("oneOf")) {
    const auto ref = choice.at("$ref").get<std::string>();
    const Described request = described(defs().at(ref.substr(8)));
    schema_ops.insert(request.properties.at("op")->at("const").get<std::string>());
  }
  EXPECT_EQ(typed_ops, schema_ops);
  std::set<std::string> reply_ops;
  for (const auto& [op, reply] : defs().at("reply").at("properties").items()) reply_ops.insert(op);
  EXPECT_EQ(typed_ops, reply_ops);
}

}  // namespace
}  // namespace remo::protocol
