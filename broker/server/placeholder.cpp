// Placeholder until the server lands (issue 3).
namespace remo::server {}
