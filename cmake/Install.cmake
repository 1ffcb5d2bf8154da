# `make install` / `cmake --install` and `make package` (issue 16).
#
# Installed under the prefix (PREFIX, DESTDIR honoured; the binary finds its
# data relative to itself, so nothing here is compiled in):
#   bin/cutover
#   share/man/man1/cutover.1, cutover-COMMAND.1   generated at build time
#   share/bash-completion/completions/cutover      generated at build time
#   share/cutover/RUNBOOK.md, SPEC.md, formats/    what `cutover harness` and the operator read
#   share/cutover/examples/cutover-serve.service   systemd unit example for `cutover serve`
#
# The man pages and the completion script are written by the built binary
# itself (`cutover generate-docs`, cli/discover_command.cc) from its CLI11
# command tree, so a new command or option appears in them with no edit here.
include(GNUInstallDirs)

set(cutover_docs_dir "${PROJECT_BINARY_DIR}/generated")
add_custom_command(
  OUTPUT "${cutover_docs_dir}/stamp"
  COMMAND "${CMAKE_COMMAND}" -E rm -rf "${cutover_docs_dir}/man1"
  COMMAND cutover generate-docs --man-dir "${cutover_docs_dir}/man1" --completion "${cutover_docs_dir}/completion/cutover"
  COMMAND "${CMAKE_COMMAND}" -E touch "${cutover_docs_dir}/stamp"
  DEPENDS cutover
  COMMENT "Generating the man pages and the bash completion from cutover's command tree")
add_custom_target(cutover_docs ALL DEPENDS "${cutover_docs_dir}/stamp")

install(TARGETS cutover RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY "${cutover_docs_dir}/man1/" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES "${cutover_docs_dir}/completion/cutover" DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES docs/RUNBOOK.md docs/SPEC.md DESTINATION ${CMAKE_INSTALL_DATADIR}/cutover)
install(DIRECTORY docs/formats DESTINATION ${CMAKE_INSTALL_DATADIR}/cutover)
install(FILES packaging/cutover-serve.service DESTINATION ${CMAKE_INSTALL_DATADIR}/cutover/examples)

# `cmake --install` and cpack install what is built; they do not build `all`
# first (unit tests and benches included), which `make install` / `make
# package` have done already (their `build` prerequisite).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)

# make package: a .deb whose Depends are the Debian packages the binary links
# (dpkg-shlibdeps reads them off the installed binary).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cutover)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "cutover maintainers <cutover@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "safe mixed-version deploys: backfill, verify, rollback, route split, evidence")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
