// Placeholder until the daemon lands (issue 3).
int main() { return 1; }
