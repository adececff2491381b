"""Answers every GET with this service's SERVICE_NAME and the http_proxy in its environment."""
import http.server
import os


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (f"service={os.environ.get('SERVICE_NAME', '?')} "
                f"proxy={os.environ.get('http_proxy', '')}\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


port = int(os.environ.get("PORT", "8000"))
http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
