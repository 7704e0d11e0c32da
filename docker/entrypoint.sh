#!/bin/sh
# The image's entrypoint. `docker run ... netsim [scenario|file] [up options]` brings that
# topology up (default: the default scenario): with a terminal (-it) in the REPL, without one
# in the foreground until `docker stop`. Other netsim verbs (validate, scenarios, import, ...)
# and sh/bash run as they are: `docker run --rm netsim scenarios`.
set -e
case "${1:-default}" in
  up | down | ls | exec | check | clean | validate | import | export | scenarios | trace | verify | web | help | --help | -h | --version | -V)
    exec netsim "$@" ;;
  sh | bash) exec "$@" ;;
esac
topology=${1:-default}
[ $# -gt 0 ] && shift
if [ -t 0 ] && [ -t 1 ]; then
  exec netsim up "$topology" "$@"
fi
exec netsim up "$topology" --no-repl "$@"
