# mcval_module(NAME SOURCES... [DEPENDS targets...] [PRIVATE_DEPENDS targets...])
# One static library per module: public headers under src/<module>/include/mcval/<module>/,
# private sources under src/<module>/. What a module links is the dependency rule.
set(MCVAL_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough)
if(MCVAL_WERROR)
  list(APPEND MCVAL_WARNINGS -Werror)
endif()

function(mcval_apply_flags target)
  target_compile_options(${target} PRIVATE ${MCVAL_WARNINGS})
  if(MCVAL_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(MCVAL_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

function(mcval_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS" ${ARGN})
  add_library(mcval_${name} STATIC ${ARG_SOURCES})
  add_library(mcval::${name} ALIAS mcval_${name})
  target_include_directories(mcval_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                            PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(mcval_${name} PUBLIC ${ARG_DEPENDS} PRIVATE ${ARG_PRIVATE_DEPENDS})
  mcval_apply_flags(mcval_${name})
  if(MCVAL_SANITIZE OR MCVAL_FUZZ)
    target_link_options(mcval_${name} INTERFACE -fsanitize=address,undefined)
  endif()
endfunction()

# mcval_unit_test(MODULE SOURCES... [DEPENDS targets...])
# One GoogleTest executable per module, registered with CTest under the label "unit".
# Tests find the shared test data through MCVAL_TEST_CMU_SLIDE and MCVAL_TEST_SOURCE_DIR.
set(MCVAL_CMU_SLIDE "${CMAKE_SOURCE_DIR}/../shared/data/slides/CMU-1-Small-Region.svs")
function(mcval_unit_test module)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_executable(unit_${module} ${ARG_SOURCES})
  target_link_libraries(unit_${module} PRIVATE ${ARG_DEPENDS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_include_directories(unit_${module} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit/support)
  target_compile_definitions(unit_${module} PRIVATE
    MCVAL_TEST_CMU_SLIDE="${MCVAL_CMU_SLIDE}"
    MCVAL_TEST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  mcval_apply_flags(unit_${module})
  add_test(NAME unit.${module} COMMAND unit_${module} --gtest_brief=1)
  set_tests_properties(unit.${module} PROPERTIES LABELS "unit" TIMEOUT 300
                       ENVIRONMENT "MCVAL_TEST_ARTIFACTS=${CMAKE_BINARY_DIR}/test-artifacts")
endfunction()
