# C libraries linked into libhutch and the subcontainer plugin from their static archives, where the
# build host has them, so that starting `hutch` does not load them. Their symbols stay private to
# the module that embeds them (--exclude-libs), so no other module binds to that copy.
#
#   hutch::libarchive   for core/archive.cpp. Shared, libarchive.so loads libxml2 (and ICU behind
#                     it), lz4, acl, nettle and four compression libraries at every start of every
#                     program linking libhutch: ~3.5 ms of `hutch run -- /bin/true`. Static, only the
#                     tar format and the filters core/archive.cpp registers are linked.
#   hutch::nettle       SHA-256 for the subcontainer image store.
#   hutch::libcap       capability names for the subcontainer config.
#
# -DHUTCH_STATIC_DEPS=OFF links them all shared (for a distribution that forbids static copies).
option(HUTCH_STATIC_DEPS "Link libarchive, its compression libraries, nettle and libcap statically where possible" ON)

# hutch_static_or_shared(<alias> LIBS <name>:<fallback>...): an INTERFACE target linking each
# lib<name>.a when HUTCH_STATIC_DEPS is on and it exists, else <fallback> (a target or a library).
function(hutch_static_or_shared alias)
  cmake_parse_arguments(DEP "" "" "LIBS" ${ARGN})
  string(REPLACE "::" "_" target "${alias}")
  add_library(${target} INTERFACE)
  add_library(${alias} ALIAS ${target})
  set(kinds)
  foreach(entry IN LISTS DEP_LIBS)
    string(REPLACE ":" ";" parts "${entry}")
    list(GET parts 0 name)
    list(GET parts 1 fallback)
    set(fallback "${fallback}")
    list(LENGTH parts count)
    if(count GREATER 2)
      list(SUBLIST parts 1 -1 fallback_parts)
      list(JOIN fallback_parts "::" fallback)
    endif()
    set(found "")
    if(HUTCH_STATIC_DEPS)
      find_library(HUTCH_STATIC_LIB_${name} NAMES lib${name}.a)
      set(found "${HUTCH_STATIC_LIB_${name}}")
    endif()
    if(found)
      target_link_libraries(${target} INTERFACE ${found})
      list(APPEND kinds "${name} static")
    else()
      target_link_libraries(${target} INTERFACE ${fallback})
      list(APPEND kinds "${name} shared")
    endif()
  endforeach()
  target_link_options(${target} INTERFACE LINKER:--exclude-libs,ALL)
  list(JOIN kinds ", " kinds)
  message(STATUS "${alias}: ${kinds}")
endfunction()

pkg_check_modules(NETTLE REQUIRED IMPORTED_TARGET nettle)
# Headers come from the pkg-config targets either way.
hutch_static_or_shared(hutch::libarchive LIBS
  archive:PkgConfig::LIBARCHIVE
  # what the registered filters and the disk writer (ACLs) call
  z:z lzma:lzma zstd:zstd acl:acl)
# libarchive's pax writer calls into archive_write_set_format.o, whose by-code table names every
# writer (xar: libxml2, zip: nettle, ...). The archive is built one function per section, so
# --gc-sections drops that table and everything only it reaches.
target_link_options(hutch_libarchive INTERFACE LINKER:--gc-sections)
# Debian's libbz2.a is not position-independent, so it cannot go into a shared object.
target_link_libraries(hutch_libarchive INTERFACE bz2)
target_include_directories(hutch_libarchive INTERFACE ${LIBARCHIVE_INCLUDE_DIRS})
hutch_static_or_shared(hutch::nettle LIBS nettle:PkgConfig::NETTLE)
target_include_directories(hutch_nettle INTERFACE ${NETTLE_INCLUDE_DIRS})
hutch_static_or_shared(hutch::libcap LIBS cap:PkgConfig::LIBCAP)
target_include_directories(hutch_libcap INTERFACE ${LIBCAP_INCLUDE_DIRS})
