/*
 * Shared main() of the unit test programs. Each program holds one group
 * of cmocka tests; meson registers every test as its own case by
 * passing the test's function name as the only argument, so that a
 * failure names the case. Without an argument the whole group runs.
 */
#ifndef VMS_TESTS_UNIT_H
#define VMS_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Runs tests[0..count) or, with argv[1], the one test of that name. An
 * unknown name fails, so that a renamed test cannot pass by running
 * nothing. */
static inline int unit_run(const char *group, const struct CMUnitTest *tests,
                           size_t count, CMFixtureFunction setup,
                           CMFixtureFunction teardown, int argc, char **argv)
{
    if (argc > 1) {
        size_t i;

        for (i = 0; i < count; i++)
            if (strcmp(tests[i].name, argv[1]) == 0)
                break;
        if (i == count) {
            fprintf(stderr, "%s: no test named '%s'\n", group, argv[1]);
            return 2;
        }
        cmocka_set_test_filter(argv[1]);
    }
    return _cmocka_run_group_tests(group, tests, count, setup, teardown);
}

#define UNIT_RUN(group, tests, setup, teardown, argc, argv)                 \
    unit_run((group), (tests), sizeof(tests) / sizeof((tests)[0]),         \
             (setup), (teardown), (argc), (argv))

#endif
