#include <stdio.h>
int main(void){ printf("spikeglue\n"); return 0; }
