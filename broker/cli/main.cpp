// Placeholder until the CLI lands (issue 2).
int main() { return 1; }
