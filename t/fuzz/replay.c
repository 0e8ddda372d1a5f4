/*
 * t/fuzz/replay.c - main() for the NAME-replay builds of the fuzz targets:
 * runs LLVMFuzzerTestOneInput() once on each file named on the command line,
 * and on each regular file (sorted by name) inside a directory argument.
 *
 * Exit status: 0 when every input ran, 2 on usage, 1 when an input cannot be
 * read.  A bug shows up as a crash (a trap, or a sanitizer report in the
 * ASan+UBSan build), never as a quiet status.  Each input is copied into a
 * buffer of exactly its size so that ASan catches reads past its end.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read path into a malloc'ed buffer of exactly its size; 0 or -1. */
static int slurp(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0 || st.st_size < 0) {
		if (f)
			fclose(f);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *p = malloc(n ? n : 1);
	if (!p || fread(p, 1, n, f) != n) {
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	*out = p;
	*len = n;
	return 0;
}

static int run_file(const char *path)
{
	uint8_t *p;
	size_t n;
	if (slurp(path, &p, &n) < 0) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		return -1;
	}
	LLVMFuzzerTestOneInput(p, n);
	free(p);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	unsigned long runs = 0;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			struct dirent **ents;
			int n = scandir(argv[i], &ents, NULL, by_name);
			if (n < 0) {
				fprintf(stderr, "replay: cannot list %s\n", argv[i]);
				status = 1;
				continue;
			}
			for (int k = 0; k < n; k++) {
				char path[4096];
				struct stat es;
				snprintf(path, sizeof path, "%s/%s", argv[i], ents[k]->d_name);
				if (stat(path, &es) == 0 && S_ISREG(es.st_mode)) {
					if (run_file(path) < 0)
						status = 1;
					else
						runs++;
				}
				free(ents[k]);
			}
			free(ents);
		} else if (run_file(argv[i]) < 0) {
			status = 1;
		} else {
			runs++;
		}
	}
	fprintf(stderr, "replay: %lu inputs\n", runs);
	return status;
}
