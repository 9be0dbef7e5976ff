// WebhookPoster: alerting::HttpPoster over Boost.Beast, for the notifier's
// webhooks. Plain http:// only; one connection per POST (webhooks are
// rare), closed after the answer. The whole exchange (resolve, connect,
// write, read) is bounded by the timeout.
//
// Thread-safety: Post may be called from any thread; calls share nothing.
#pragma once

#include "alerting/notifier.h"

namespace vigil::server {

class WebhookPoster final : public alerting::HttpPoster {
 public:
  Result<int> Post(const std::string& url, std::string_view content_type, const std::string& body,
                   std::chrono::milliseconds timeout) override;
};

}  // namespace vigil::server
