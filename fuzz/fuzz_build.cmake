# Included by the top-level CMakeLists.txt when HEADEVO_FUZZ is ON, in place of the normal
# build: clang, everything instrumented for libFuzzer, ASan and UBSan, and only what the fuzz
# targets need: headevo_proto, headevo_search and the server libraries they call
# (server/config, server/checks). LibTorch, storage, the rest of the server, the worker, the
# CLI, benchmarks and tests are left out: none is called, and each would only lengthen an
# instrumented build from scratch.
# Warnings are the gcc build's job; HEADEVO_WARNINGS stays empty here.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "HEADEVO_FUZZ needs clang (libFuzzer): "
    "cmake -DCMAKE_CXX_COMPILER=clang++ -DHEADEVO_FUZZ=ON, or run fuzz/run_fuzzers.sh")
endif()

# Undefined behaviour aborts (a finding) instead of printing and going on. Debian's toml++
# 3.3.0 reaches a TOML_UNREACHABLE for a non-ASCII character where it tests for whitespace (a
# bare key `café = 1`; marzer/tomlplusplus issues 190 and 295, fixed upstream by PR 305): this
# fuzzer found it, and ParseSearchConfig now refuses non-ASCII text outside strings before
# toml++ sees it. corpus/config_parser/toml_unreachable_bare_key.toml keeps the input.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer -g)

# Debian's toml++ is a compiled library, which the fuzzer cannot see into: it would get no
# coverage signal from the TOML grammar and mutate blind until a config happens to parse. Its
# header-only mode compiles the parser into our (instrumented) objects instead.
set_property(TARGET tomlplusplus::tomlplusplus PROPERTY INTERFACE_COMPILE_OPTIONS -DTOML_HEADER_ONLY=1)

add_subdirectory(proto)
add_subdirectory(search)
add_subdirectory(server/config)
add_subdirectory(server/checks)
add_subdirectory(fuzz)
