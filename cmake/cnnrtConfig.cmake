# find_package(cnnrt): the imported target cnnrt::cnnrt (libcnnrt + the C header cnnrt/cnnrt.h).
include("${CMAKE_CURRENT_LIST_DIR}/cnnrtTargets.cmake")
