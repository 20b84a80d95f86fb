/*
 * main — the jianlian command: dispatches to subcommands.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	puts("jianlian");
	return 0;
}
