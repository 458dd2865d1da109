#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

// CTest discovers each test case by name and splits a name at ';' into two tests that both
// fail under CI only: refuse such a name here, where a plain run of the suite sees it.
TEST_CASE("every test case name is one CTest name, without a semicolon", "[suite]") {
  for (const Catch::TestCase& test : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) {
    INFO(test.name);
    CHECK(test.name.find(';') == std::string::npos);
  }
}
