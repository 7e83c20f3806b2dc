from startvora.cli import main

main()
