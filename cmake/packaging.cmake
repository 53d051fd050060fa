# `make package` (CPack, DEB): radflow_VERSION_ARCH.deb, radflow as a lab's service
# (docs/service.md). The binaries, plugins and SDK come from the install() rules of
# their folders; this file adds the service's own files and the package metadata:
#   /etc/radflow/radflowd.json           the config (a conffile: upgrades keep edits)
#   /usr/lib/systemd/system/radflowd.service   the unit, User=radflow, hardened
#   /usr/share/doc/radflow/              service.md, api.md, SECURITY.md
# postinst makes the radflow system user and /var/lib/radflow (packaging/debian/).
# Dependencies are Debian's packages, found by dpkg-shlibdeps from what the
# binaries and plugins link, plus adduser for postinst.
# Included once from the top-level CMakeLists.txt, after every target.
include(GNUInstallDirs)

set(RADFLOW_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
install(FILES ${RADFLOW_PACKAGING_DIR}/radflowd.json DESTINATION /etc/radflow COMPONENT service)
install(FILES ${RADFLOW_PACKAGING_DIR}/radflowd.service DESTINATION lib/systemd/system
        COMPONENT service)
install(FILES ${PROJECT_SOURCE_DIR}/docs/service.md ${PROJECT_SOURCE_DIR}/docs/api.md
              ${PROJECT_SOURCE_DIR}/SECURITY.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT service)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME radflow)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "workflow orchestrator for self-supervised medical image encoders (RAD-DINO)")
set(CPACK_PACKAGE_CONTACT "radflow maintainers <radflow@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # radflow_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${RADFLOW_PACKAGING_DIR}/debian/postinst ${RADFLOW_PACKAGING_DIR}/debian/prerm
    ${RADFLOW_PACKAGING_DIR}/debian/postrm ${RADFLOW_PACKAGING_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)  # as Debian ships binaries: without their debug info
include(CPack)
