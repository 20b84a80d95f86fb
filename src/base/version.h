/* version — the program's version, shown by --version, /healthz and the CapabilityStatement. */
#ifndef JL_BASE_VERSION_H
#define JL_BASE_VERSION_H
#define JL_VERSION "0.1.0"
#endif
