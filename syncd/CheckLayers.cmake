# Fails when a file of syncd/src includes a folder its own may not use (CMakeLists.txt,
# SYNCD_LAYERS: "folder:allowed,allowed;…"), or, outside store/ and admin/, one of the
# store's private headers (only its interfaces are public: PUBLIC_STORE_HEADERS below).
# Run by the build: cmake -DSRC=… -DLAYERS=… -DSTAMP=… -P CheckLayers.cmake
cmake_minimum_required(VERSION 3.25)
set(PUBLIC_STORE_HEADERS store.h device_ledger.h admin_store.h merge_store.h dashboard_reads.h
    coordinator_store.h ledger_tx.h inert_text.h)
# Headers any folder may include although their folder is above it: value types only.
set(SHARED_HEADERS http/http_types.h)

set(folders "")
foreach(entry IN LISTS LAYERS)
  string(REPLACE ":" ";" parts "${entry}")
  list(GET parts 0 folder)
  list(APPEND folders ${folder})
  set(allowed_${folder} "")
  list(LENGTH parts n)
  if(n GREATER 1)
    list(GET parts 1 allowed)
    string(REPLACE "," ";" allowed_${folder} "${allowed}")
  endif()
endforeach()

set(errors "")
foreach(folder IN LISTS folders)
  file(GLOB files "${SRC}/${folder}/*.h" "${SRC}/${folder}/*.cc")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" includes REGEX "^#include \"[a-z_]+/[a-z_0-9./]+\"")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"(([a-z_]+)/([a-z_0-9./]+))\".*" "\\1;\\2;\\3" m "${line}")
      list(GET m 0 header)
      list(GET m 1 target)
      list(GET m 2 name)
      if(target STREQUAL folder OR NOT target IN_LIST folders OR header IN_LIST SHARED_HEADERS)
        continue()
      endif()
      file(RELATIVE_PATH rel "${SRC}" "${file}")
      if(NOT target IN_LIST allowed_${folder})
        list(APPEND errors "${rel}: ${folder}/ may not include ${header}")
      elseif(target STREQUAL "store" AND NOT folder STREQUAL "admin"
             AND NOT name IN_LIST PUBLIC_STORE_HEADERS)
        list(APPEND errors "${rel}: ${header} is the store's own; include its interface")
      endif()
    endforeach()
  endforeach()
endforeach()

if(errors)
  list(JOIN errors "\n  " text)
  message(FATAL_ERROR "syncd's layering is broken (syncd/CMakeLists.txt, SYNCD_LAYERS):\n  ${text}")
endif()
file(WRITE "${STAMP}" "ok\n")
