"""A writer thread and a streamer thread: the streamer loses, duplicates and reorders nothing."""

from __future__ import annotations

import threading

from runnerfleet.trace import STDERR, TraceBuffer


def test_streamer_reading_while_an_executor_writes_sees_every_byte_in_order() -> None:
    lines = [f"line {i:06d} token=s3cr3tvalue\n".encode() for i in range(20000)]
    expected = b"".join(line.replace(b"s3cr3tvalue", b"[MASKED]") for line in lines)
    received = bytearray()

    with TraceBuffer(timestamps=False, masked=["s3cr3tvalue"], output_limit=10**9) as buffer:

        def executor() -> None:
            for line in lines:
                # Split each line inside the secret to exercise the held-back window.
                buffer.write(line[:20])
                buffer.write(line[20:])
            buffer.finish()

        def streamer() -> None:
            offset = 0
            while True:
                finished = buffer.is_finished
                chunk = buffer.bytes_since(offset, max_bytes=64 * 1024)
                received.extend(chunk)
                offset += len(chunk)
                if finished and offset == buffer.size():
                    return

        threads = [threading.Thread(target=executor), threading.Thread(target=streamer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert bytes(received) == expected
        assert buffer.bytes_since(0) == expected


def test_two_writer_threads_on_separate_streams_keep_each_stream_intact() -> None:
    with TraceBuffer(timestamps=False, output_limit=10**9) as buffer:
        out, err = buffer.stream(1), buffer.stream(1, STDERR)

        def write(stream_writer: object, tag: bytes) -> None:
            assert hasattr(stream_writer, "write")
            for i in range(5000):
                stream_writer.write(tag + b"%05d\n" % i)

        threads = [
            threading.Thread(target=write, args=(out, b"O")),
            threading.Thread(target=write, args=(err, b"E")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        buffer.finish()
        lines = buffer.bytes_since(0).splitlines()
        assert [x for x in lines if x.startswith(b"O")] == [b"O%05d" % i for i in range(5000)]
        assert [x for x in lines if x.startswith(b"E")] == [b"E%05d" % i for i in range(5000)]
