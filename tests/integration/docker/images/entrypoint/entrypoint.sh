#!/bin/sh
export PREPARED_BY_ENTRYPOINT=yes
exec "$@"
