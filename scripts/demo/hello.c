/* The demo container's program: says where it runs. Built static so the rootfs needs nothing else. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	printf("hello from a tsrun container: pid %d, uid %d, hostname %s\n", (int)getpid(), (int)getuid(), host);
	return 0;
}
