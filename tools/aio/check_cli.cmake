# SPDX-License-Identifier: MIT
# Checks the `aio` command's contract: exit status and output of every kind of
# invocation, and that a quick tour runs every lesson to the end. Never
# looks at timings. Run by ctest as aio.cli.

cmake_minimum_required(VERSION 3.25)
string(ASCII 27 esc)

# expect(<exit status> <regex on stdout+stderr> <args>...)
function(expect status regex)
  execute_process(COMMAND ${AIO} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(all "${out}${err}")
  if(NOT rc STREQUAL "${status}")
    message(SEND_ERROR "aio ${ARGN}: exit status ${rc}, expected ${status}\n${all}")
  elseif(NOT all MATCHES "${regex}")
    message(SEND_ERROR "aio ${ARGN}: output does not match '${regex}':\n${all}")
  else()
    message(STATUS "ok: aio ${ARGN}")
  endif()
  string(FIND "${all}" "${esc}" at)
  if(NOT at EQUAL -1)
    message(SEND_ERROR "aio ${ARGN}: ANSI escape codes in output that is not a terminal")
  endif()
endfunction()

expect(0 "usage: aio <command>" --help)
expect(0 "usage: aio <command>" -h)
expect(0 "usage: aio <command>" tour --help)
expect(0 "^aio ${VERSION} \\(aiocpp\\)\n$" --version)
expect(2 "usage: aio <command>")
expect(2 "unknown command 'frobnicate'" frobnicate)
expect(2 "unknown option '--frobnicate'" --frobnicate)
expect(2 "tour: unknown option '--slow'" tour --slow)
expect(2 "no lesson named 'no-such-lesson'" tour no-such-lesson)
expect(2 "no lesson named 'no-such-lesson'" tour never-block no-such-lesson)
expect(2 "--list takes no other argument" tour --list never-block)
expect(0 "never-block +never block a coroutine" tour --list)

set(never_block_output
    "== never block a coroutine \\(aio tour never-block\\) ==.*"
    "20 coroutines each wait 50ms.*"
    "inside each coroutine +wall time +loop's longest stall\n"
    " +std::this_thread::sleep_for\\(50ms\\) +[0-9.]+ (s|ms|us) +[0-9.]+ (s|ms|us)\n"
    " +co_await aio::sleep\\(50ms\\) +[0-9.]+ (s|ms|us) +[0-9.]+ (s|ms|us)\n.*"
    "aio::sleep finished [0-9.]+x sooner\\..*Why: ")
string(JOIN "" never_block_regex ${never_block_output})
expect(0 "${never_block_regex}" tour never-block --quick)
expect(0 "${never_block_regex}" tour --quick)

# find-what-blocks: the detector's live reports name the two blocking functions.
set(find_what_blocks_output
    "== find what blocks the loop \\(aio tour find-what-blocks\\) ==.*"
    "1\\. blocking inside coroutines.*"
    "blocked for [0-9]+ ms in task 'settings':\n +aio::tour::load_settings\\(\\).*"
    "blocked for [0-9]+ ms in task 'checksum':\n +aio::tour::checksum\\(\\).*"
    "ticker's worst lateness: [0-9.]+ (s|ms|us).*"
    "2\\. the same work through co_await aio::to_thread.*"
    "detector reports: [0-9]+\n +ticker's worst lateness: [0-9.]+ (s|ms|us)")
string(JOIN "" find_what_blocks_regex ${find_what_blocks_output})
expect(0 "${find_what_blocks_regex}" tour find-what-blocks --quick)

# use-async-modules: blocking sockets vs streams, every request answered both ways.
set(use_async_modules_output
    "== use async modules, not blocking ones \\(aio tour use-async-modules\\) ==.*"
    "inside each coroutine +wall time +ticker's worst delay +answers\n"
    " +blocking connect/send/recv +[0-9.]+ (s|ms|us) +[0-9.]+ (s|ms|us) +20/20\n"
    " +aio::open_connection \\+ streams +[0-9.]+ (s|ms|us) +[0-9.]+ (s|ms|us) +20/20\n.*"
    "aiocpp streams finished [0-9.]+x sooner\\..*Why: ")
string(JOIN "" use_async_modules_regex ${use_async_modules_output})
expect(0 "${use_async_modules_regex}" tour use-async-modules --quick)

# async-files: blocking std::ifstream vs aio::fs::read_file, every file read whole both ways.
set(async_files_output
    "== files need async modules too \\(aio tour async-files\\) ==.*"
    "1000 coroutines each read one file of 16 KiB.*"
    "inside each coroutine +wall time +ticker's worst delay +files +cached\n"
    " +blocking std::ifstream +[0-9.]+ (s|ms|us) +[0-9.]+ (s|ms|us) +1000/1000 +[0-9]+%\n"
    " +co_await aio::fs::read_file +[0-9.]+ (s|ms|us) +[0-9.]+ (s|ms|us) +1000/1000 +[0-9]+%\n.*"
    "aio::fs (finished [0-9.]+x sooner|took [0-9.]+x as long here).*Why: ")
string(JOIN "" async_files_regex ${async_files_output})
expect(0 "${async_files_regex}" tour async-files --quick)

# use-every-core: four worker processes each start and finish their task; the
# guide's cpu_bound_task under workers::run(1) and (2), and the speed-up.
set(use_every_core_output
    "== use every core: one loop per process \\(aio tour use-every-core\\) ==.*"
    "task [0-3] started in process [0-9]+.*task [0-3] finished in process [0-9]+.*"
    "All four finished after [0-9.]+ (s|ms).*"
    "workers::run\\(1\\).*cpu_bound_task\\(4\\) = 799999960000000.*wall time.*"
    "workers::run\\(2\\).*wall time.*"
    "Two processes: [0-9.]+x the speed of one")
string(JOIN "" use_every_core_regex ${use_every_core_output})
expect(0 "${use_every_core_regex}" tour use-every-core --quick)
