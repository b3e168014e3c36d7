// A stand-in for "libssl.so" that lets Debian bookworm's civetweb 1.15 serve
// HTTPS with OpenSSL 3.
//
// Why: that civetweb loads OpenSSL at run time (dlopen("libssl.so"), then
// dlsym of each function it uses) and was built for the OpenSSL 1.1 API.
// One of its functions, SSL_get_peer_certificate, is only a macro in
// OpenSSL 3 (the library exports SSL_get1_peer_certificate), so its table
// entry stays null, and every HTTPS connection ends in a call through that
// null pointer (SIGSEGV in a civetweb worker, right after the handshake).
// All the other functions it looks up exist in OpenSSL 3.
//
// How: this library is built as build/civetweb-tls/libssl.so with the
// SONAME "libssl.so" and depends on the real libssl.so.3. The server links
// it, so it is loaded at start; civetweb's later dlopen("libssl.so")
// matches the loaded object by that SONAME and gets this one, and dlsym
// through it finds the missing function here and every other one in its
// dependency, the real OpenSSL. Nothing else in the process uses this
// library's name.
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate

extern "C" {

// OpenSSL 1.1's SSL_get_peer_certificate: the peer's certificate with a
// reference taken (the caller frees it), i.e. OpenSSL 3's get1.
__attribute__((visibility("default"))) X509* SSL_get_peer_certificate(const SSL* ssl) {
  return SSL_get1_peer_certificate(ssl);
}

// Referenced by the HTTP server, so that the linker keeps this library as
// a dependency of every binary that may serve HTTPS.
__attribute__((visibility("default"))) int llm2vec_civetweb_libssl_shim() { return 1; }

}  // extern "C"
