from haad.cli import main

main()
