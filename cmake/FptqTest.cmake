# fptq_add_test(NAME name SOURCES a.cpp... LIBS lib... [LABELS l...])
# One GoogleTest executable; each TEST becomes a ctest test carrying LABELS.
# Tests find shared data, models, the build and source folders through
# fptq::testing (compiled-in paths, each overridable by an environment
# variable: FPTQ_SHARED_DIR, FPTQ_MODELS_DIR, FPTQ_BUILD_DIR, FPTQ_SOURCE_DIR).
function(fptq_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} fptq_testing GTest::gtest GTest::gtest_main)
  # gtest_discover_tests cannot pass a list of labels through PROPERTIES, so
  # the labels are joined into one ("model:slow"); ctest -L takes a regex, so
  # `-L model` and `-L slow` both select such a test.
  string(REPLACE ";" ":" labels "${T_LABELS}")
  gtest_discover_tests(${T_NAME}
    PROPERTIES LABELS "${labels}"
    DISCOVERY_TIMEOUT 60)
endfunction()

# fptq_add_module_tests(MODULE io LIBS fptq_io ... [LABELS extra...])
# One test executable per *_test.cpp in the current folder, named
# <module>_<file>, labelled with the module name (plus LABELS).
function(fptq_add_module_tests)
  cmake_parse_arguments(T "" "MODULE" "LIBS;LABELS" ${ARGN})
  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cpp)
  foreach(t ${tests})
    get_filename_component(base ${t} NAME_WE)
    fptq_add_test(NAME ${T_MODULE}_${base} SOURCES ${t} LIBS ${T_LIBS}
                  LABELS ${T_MODULE} ${T_LABELS})
  endforeach()
endfunction()
