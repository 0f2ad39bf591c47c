from filterforge.cli import main

main()
