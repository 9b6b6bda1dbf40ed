# SPDX-License-Identifier: GPL-2.0-only
# memplace.1, and memplace-COMMAND.1 for each of COMMANDS, written by `MEMPLACE reference --man`
# into OUT (CMakeLists.txt's man target).
file(MAKE_DIRECTORY ${OUT})
foreach(cmd "" ${COMMANDS})
  if(cmd STREQUAL "")
    set(page ${OUT}/memplace.1)
  else()
    set(page ${OUT}/memplace-${cmd}.1)
  endif()
  execute_process(COMMAND ${MEMPLACE} reference --man ${cmd} OUTPUT_FILE ${page} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "memplace reference --man ${cmd} failed (${rc})")
  endif()
endforeach()
