# The Debian package: `cpack -G DEB` in the build directory makes remo-broker_<version>_<arch>.deb.
# It installs both binaries, the systemd unit, sysusers.d and tmpfiles.d files, the key-sealing script,
# the docs and the JSON Schema; its maintainer scripts create the user and directories on install.
# Depends come from dpkg-shlibdeps (libsodium23, libfmt9, libstdc++6, ...) plus systemd for systemd-creds.

install(PROGRAMS systemd/remo-broker-seal-key DESTINATION ${CMAKE_INSTALL_SBINDIR})
# One NDJSON request on the admin socket (python3); the Ansible role and push playbook call it.
install(PROGRAMS ansible/roles/remo_broker/files/remo-broker-admin DESTINATION libexec/remo-broker)
install(FILES systemd/remo-broker.service DESTINATION lib/systemd/system)
install(FILES systemd/remo-broker.sysusers DESTINATION lib/sysusers.d RENAME remo-broker.conf)
install(FILES systemd/remo-broker.tmpfiles DESTINATION lib/tmpfiles.d RENAME remo-broker.conf)
install(FILES protocol/remo-broker.schema.json DESTINATION ${CMAKE_INSTALL_DATADIR}/remo-broker)
install(FILES README.md docs/operations.md docs/threat-model.md packaging/debian/copyright
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME remo-broker)
set(CPACK_PACKAGE_VENDOR remo-broker)
set(CPACK_PACKAGE_CONTACT "remo-broker maintainers <remo-broker@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "credential broker for remote development instances")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "Decrypts age-encrypted credential bundles pushed over SSH in memory only and serves each secret\n\
over Unix sockets to the devcontainers whose manifest allows it, auditing every access.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-creds (key sealing), systemd-sysusers and systemd-tmpfiles; python3 for the role's admin calls.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd (>= 252), python3")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
