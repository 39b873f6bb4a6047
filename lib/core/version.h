/* version.h - the version of the maas toolchain, one place (the Makefile reads it). */
#ifndef MAAS_CORE_VERSION_H
#define MAAS_CORE_VERSION_H

#define MAAS_VERSION "0.1.0"

#endif
