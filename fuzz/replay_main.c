/* replay_main.c -- runs fuzz inputs without libFuzzer: every file named on the command
 * line, and every file in every directory named. ctest runs the corpus and the
 * regression inputs this way, in every build (also under valgrind and gcc).
 * Prints "N passed, 0 failed"; a failing input aborts with the harness's message.
 * With --every-op first (as ctest runs it), also fails, naming it, for each op of the
 * library's table (mg_op_count) through which no input checked a backward pass. */
#define _POSIX_C_SOURCE 200809L   /* opendir, stat */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_op_checked(int op);   /* fuzz_api.c */

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 0;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *bigger = realloc(buf, cap *= 2);
            if (!bigger) free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "%s: out of memory\n", path);
        return 0;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 1;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, every_op = argc > 1 && strcmp(argv[1], "--every-op") == 0;
    for (int i = 1 + every_op; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            failed++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            replay_file(argv[i]) ? passed++ : failed++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        if (!d) {
            perror(argv[i]);
            failed++;
            continue;
        }
        char **names = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char **more = realloc(names, (n + 1) * sizeof *names);
            if (!more) break;
            names = more;
            size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
            names[n] = malloc(len);
            if (!names[n]) break;
            snprintf(names[n++], len, "%s/%s", argv[i], e->d_name);
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, compare);   /* the same order everywhere */
        for (size_t k = 0; k < n; k++) {
            replay_file(names[k]) ? passed++ : failed++;
            free(names[k]);
        }
        free(names);
    }
    for (int op = 0; every_op && op < mg_op_count(); op++) {
        if (fuzz_op_checked(op)) continue;
        fprintf(stderr, "no input checks a backward through op %s: add one that does to "
                "fuzz/corpus (see fuzz/make_seeds.py)\n", mg_op_name((mg_op)op));
        failed++;
    }
    mg_trim();
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
