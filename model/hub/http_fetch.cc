#include "model/hub/http_fetch.h"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace llm2vec {
namespace {

// Error bodies are kept only this long; a hub error is a short JSON.
constexpr size_t kMaxErrorBody = 64 << 10;
// A body collected into memory (API answers) may not exceed this.
constexpr size_t kMaxCollectedBody = 64 << 20;

// State shared with the libcurl callbacks of one transfer.
struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  bool headers_delivered = false;
  // The Status a callback aborted with.
  absl::Status abort_status;

  bool FinalIs2xx() const {
    return !response->hops.empty() && response->hops.back().status >= 200 &&
           response->hops.back().status < 300;
  }
};

size_t OnHeaderLine(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  absl::string_view line(data, n);
  line = absl::StripTrailingAsciiWhitespace(line);
  std::vector<HttpHeaders>& hops = t->response->hops;
  if (absl::StartsWith(line, "HTTP/")) {
    // "HTTP/1.1 302 Found" or "HTTP/2 200".
    HttpHeaders hop;
    const size_t space = line.find(' ');
    if (space != absl::string_view::npos) {
      int status = 0;
      if (absl::SimpleAtoi(line.substr(space + 1, 3), &status)) hop.status = status;
    }
    // An interim 1xx answer is replaced by the response that follows it.
    if (!hops.empty() && hops.back().status >= 100 && hops.back().status < 200) hops.pop_back();
    hops.push_back(std::move(hop));
    return n;
  }
  const size_t colon = line.find(':');
  if (hops.empty() || line.empty() || colon == absl::string_view::npos) return n;
  hops.back().fields.emplace_back(absl::AsciiStrToLower(line.substr(0, colon)),
                                  std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  return n;
}

size_t OnBodyChunk(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t->request->on_body && t->FinalIs2xx()) {
    if (!t->headers_delivered) {
      t->headers_delivered = true;
      if (t->request->on_headers) {
        t->abort_status = t->request->on_headers(t->response->hops.back());
        if (!t->abort_status.ok()) return 0;
      }
    }
    t->abort_status = t->request->on_body(data, n);
    return t->abort_status.ok() ? n : 0;
  }
  std::string& body = t->response->body;
  const size_t cap = t->request->on_body ? kMaxErrorBody : kMaxCollectedBody;
  if (body.size() + n > cap) {
    if (t->request->on_body) {
      body.append(data, cap - body.size());
      return n;  // the rest of an error body is of no use
    }
    t->abort_status = absl::ResourceExhaustedError(absl::StrCat(
        "GET ", t->request->url, ": the response is larger than ", kMaxCollectedBody, " bytes"));
    return 0;
  }
  body.append(data, n);
  return n;
}

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

const std::string* HttpHeaders::Find(const std::string& name) const {
  for (const auto& [key, value] : fields) {
    if (key == name) return &value;
  }
  return nullptr;
}

const std::string* HttpResponse::Header(const std::string& name) const {
  return hops.empty() ? nullptr : hops.back().Find(name);
}

absl::StatusOr<HttpResponse> HttpFetch(const HttpRequest& request) {
  InitCurlOnce();
  const std::string method = request.head ? "HEAD" : "GET";
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (curl == nullptr) {
    return absl::InternalError(absl::StrCat(method, " ", request.url, ": curl_easy_init failed"));
  }
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const std::string& h : request.headers) {
    curl_slist* appended = curl_slist_append(headers.get(), h.c_str());
    if (appended == nullptr) {
      return absl::InternalError(absl::StrCat(method, " ", request.url, ": out of memory"));
    }
    headers.release();
    headers.reset(appended);
  }

  HttpResponse response;
  Transfer transfer;
  transfer.request = &request;
  transfer.response = &response;
  char error[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_NOBODY, request.head ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, request.follow_redirects ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERAGENT, "llm2vec-serve (libcurl)");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(request.connect_timeout_s));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.stall_timeout_s));
  curl_easy_setopt(c, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &OnHeaderLine);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &OnBodyChunk);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);

  const CURLcode code = curl_easy_perform(c);
  if (!transfer.abort_status.ok()) return transfer.abort_status;
  if (code != CURLE_OK) {
    std::string detail = error[0] != '\0' ? error : curl_easy_strerror(code);
    return absl::UnavailableError(absl::StrCat(method, " ", request.url, ": ", detail));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  response.status = status;
  char* effective = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &effective);
  response.url = effective != nullptr ? effective : request.url;
  if (!request.follow_redirects && status >= 300 && status < 400) {
    char* location = nullptr;
    curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location);
    if (location != nullptr) response.redirect_url = location;
  }
  // An empty 2xx body never reached OnBodyChunk: the sink still hears of it.
  if (!request.head && request.on_body && transfer.FinalIs2xx() && !transfer.headers_delivered &&
      request.on_headers) {
    transfer.headers_delivered = true;
    if (absl::Status s = request.on_headers(response.hops.back()); !s.ok()) return s;
  }
  return response;
}

std::string UrlEscape(const std::string& s, const std::string& keep) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~' ||
        keep.find(static_cast<char>(ch)) != std::string::npos) {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += kHex[ch >> 4];
      out += kHex[ch & 15];
    }
  }
  return out;
}

}  // namespace llm2vec
