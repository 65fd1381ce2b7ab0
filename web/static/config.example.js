// Example of the /config.js that `ldn-bot serve` generates. Only for testing the
// static page by hand (copy it to config.js next to index.html in a temp dir);
// do not commit a config.js.
//   socketUrl:   origin of the Rasa socket.io channel; "" = the page's own origin
//   socketPath:  socket.io path on that origin
//   feedbackUrl: where thumbs up/down votes are POSTed (relative to the page)
//   forgetUrl:   where "Delete this conversation" is POSTed (relative to the page)
//   retentionDays, ledgerText: what the privacy text says (LDN_BOT_RETENTION_DAYS,
//                LDN_BOT_LEDGER_TEXT)
window.LDN_CONFIG = {
  socketUrl: "http://127.0.0.1:5005",
  socketPath: "/socket.io/",
  feedbackUrl: "./api/feedback",
  forgetUrl: "./api/forget",
  retentionDays: 90,
  ledgerText: false,
};
