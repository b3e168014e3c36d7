// A small HTTP(S) client over libcurl, enough for the Hugging Face hub
// downloads (model/hf_download.h): GET or HEAD one URL, optionally following
// redirects, with the header block of every response hop kept (the hub puts
// a file's identity in the headers of its redirect, not of the CDN's answer)
// and the body either collected or streamed to a callback.
//
// HTTP error statuses are not errors here: they come back in
// HttpResponse::status for the caller to explain. Only transport failures
// (DNS, connect, TLS, a connection dropped mid-body, an aborting callback)
// are a non-OK Status, whose message names the method and the URL.
//
// Proxies come from the usual environment variables (https_proxy, no_proxy,
// ...), as with curl. Custom headers such as Authorization are not sent to
// another host after a redirect (libcurl's rule).
//
// Threading: HttpFetch is thread-safe; each call uses its own connection and
// runs its callbacks on the calling thread.
#ifndef LLM2VEC_MODEL_HUB_HTTP_FETCH_H_
#define LLM2VEC_MODEL_HUB_HTTP_FETCH_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace llm2vec {

// The status line and headers of one response. Header names are lower-case.
struct HttpHeaders {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> fields;

  // The value of the first header `name` (lower-case), or nullptr.
  const std::string* Find(const std::string& name) const;
};

struct HttpResponse {
  // Status of the final response (after redirects, when followed).
  long status = 0;
  // URL of the final response.
  std::string url;
  // Where a redirect points, absolute, when redirects are not followed and
  // the final response is one; else "".
  std::string redirect_url;
  // One header block per response received, in order; back() is the final
  // one. Interim 1xx responses are left out.
  std::vector<HttpHeaders> hops;
  // The body when HttpRequest::on_body is unset, or when the final status
  // is not 2xx (an error's body, at most 64 KiB); else "".
  std::string body;

  // A header of the final response, or nullptr.
  const std::string* Header(const std::string& name) const;
};

struct HttpRequest {
  std::string url;
  // HEAD instead of GET.
  bool head = false;
  // Follow 3xx Location headers (up to 10).
  bool follow_redirects = true;
  // Extra request headers, "Name: value".
  std::vector<std::string> headers;
  // Gives up when connecting takes longer.
  int connect_timeout_s = 10;
  // Gives up when fewer than 1 byte/s arrive over this many seconds.
  int stall_timeout_s = 60;
  // Called once with the final response's headers, before any of its body,
  // when its status is 2xx. Returning a non-OK Status aborts the transfer
  // and HttpFetch returns that Status.
  std::function<absl::Status(const HttpHeaders&)> on_headers;
  // Receives the body of a 2xx final response in chunks, instead of
  // HttpResponse::body. Returning a non-OK Status aborts as above.
  std::function<absl::Status(const char* data, size_t size)> on_body;
};

// Runs `request`. See the file comment for what is an error.
absl::StatusOr<HttpResponse> HttpFetch(const HttpRequest& request);

// `s` with every byte outside [A-Za-z0-9-._~] (and outside `keep`)
// percent-encoded, for path segments of a URL.
std::string UrlEscape(const std::string& s, const std::string& keep = "");

}  // namespace llm2vec

#endif  // LLM2VEC_MODEL_HUB_HTTP_FETCH_H_
