/* tls-suites.h - the TLS 1.3 cipher suites mailharvest offers.
 *
 * Most preferred first: AES-128-GCM, the suite RFC 8446 makes mandatory
 * and browsers' first choice.  OpenSSL's default order starts with
 * AES-256-GCM, which costs both ends about 1.8 times the cipher work per
 * byte (14 AES rounds instead of 10) for no protection a mail download
 * needs.  A server that enforces its own order still gets its way.
 *
 * No other includes, so that tools/rawfetch (OpenSSL only) offers the same
 * suites and the benchmark's raw limit pays the same cipher.
 */
#pragma once

#define MH_TLS13_CIPHERSUITES \
  "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"
