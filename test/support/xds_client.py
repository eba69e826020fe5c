"""A proxyless gRPC C-core client (Debian python3-grpcio) for Switchyard's end-to-end tests.

Dials `xds:///<service>` (bootstrap from GRPC_XDS_BOOTSTRAP_CONFIG) and calls the raw-bytes
method /switchyard.test.Greeter/Hello every 100 ms, printing one line per call:
`ok <reply>` or `err <status> <details>`. Stops when stdin closes or after --seconds.
"""
import sys
import threading
import time

import grpc


def main() -> None:
    target = sys.argv[1]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
    stop = threading.Event()

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    channel = grpc.insecure_channel(target)
    hello = channel.unary_unary('/switchyard.test.Greeter/Hello')
    deadline = time.monotonic() + seconds
    print(f'started grpc {grpc.__version__}', flush=True)
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            reply = hello(b'hi', timeout=2)
            print(f'ok {reply.decode()}', flush=True)
        except grpc.RpcError as err:  # noqa: PERF203 - one line per failed call is the point
            print(f'err {err.code().name} {err.details()}', flush=True)
        stop.wait(0.1)
    channel.close()


if __name__ == '__main__':
    main()
