"""Who is asking, as far as the server can tell: the client's address, and a browser's proxy cookie (issue 20).

Streamlit gives the address of the connection's other end (st.context.ip_address). Behind a reverse proxy that is
the proxy's own address for every visitor, so the address the proxy saw is read from its X-Real-IP header (or the
last hop of X-Forwarded-For) - only when the deployer says a proxy is in front (CNN_TRUST_PROXY=1): a client that
reaches the app directly could write any header it likes.

The proxy of docs/deployment.md also gives each browser a random cookie (cnn_visitor), used to send all of its
requests to the same app process, and passes it on as the X-Cnn-Visitor header (its own, replacing any the client
sent). With CNN_TRUST_PROXY=1 an anonymous visitor is keyed by it instead of the tab, so that when an app process
ends, the visitor's tab reconnects through the proxy to another process and finds its stored drawings there.
"""
import hashlib
import ipaddress
import os

import streamlit as st


def trust_proxy():
    return os.environ.get("CNN_TRUST_PROXY", "").strip().lower() in {"1", "true", "yes", "on"}


def _headers():
    try:
        return st.context.headers or {}
    except Exception:                                  # outside a session (a test's thread)
        return {}


def address():
    """The client's address (a string), or None when unknown (e.g. in AppTest)."""
    if trust_proxy():
        headers = _headers()
        real = (headers.get("X-Real-Ip") or "").strip()
        hops = [h.strip() for h in (headers.get("X-Forwarded-For") or "").split(",") if h.strip()]
        if real or hops:
            return real or hops[-1]
    try:
        return st.context.ip_address
    except Exception:
        return None


def proxy_visitor():
    """32 hex digits naming this browser, from the proxy's X-Cnn-Visitor header (its cnn_visitor cookie) when a
    proxy is trusted, else None."""
    if not trust_proxy():
        return None
    key = (_headers().get("X-Cnn-Visitor") or "").strip().lower()
    if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
        return None
    return hashlib.sha256(f"proxy|{key}".encode()).hexdigest()[:32]


def owners(visitor_id):
    """The keys a training run or fine-tune is queued under in public mode: one per visitor, and one per address
    when the address says who the client is: one the trusted proxy saw, or a public one. An untrusted loopback or
    private address is most likely a proxy's (a hosting platform's, or one not declared with CNN_TRUST_PROXY),
    the same for every visitor: keyed by it, the whole server would train one visitor's run at a time."""
    keys = [f"visitor:{visitor_id}"]
    addr = address()
    if addr is not None and (trust_proxy() or _public(addr)):
        keys.append(f"address:{addr}")
    return tuple(keys)


def _public(addr):
    try:
        return ipaddress.ip_address(addr.split("%")[0]).is_global
    except ValueError:
        return False
