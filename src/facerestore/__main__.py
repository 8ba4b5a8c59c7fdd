from facerestore.cli import main

raise SystemExit(main())
