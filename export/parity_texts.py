"""A fixed multilingual retrieval sample for parity checks: 24 queries, 60 passages, 12 languages.

Passages are about 15 topics, each written in four languages; queries ask about the topics in
other languages, so the sample has monolingual and cross-lingual matches.
"""

QUERIES = [
    "how do plants turn sunlight into food",
    "Wie hoch ist der Eiffelturm?",
    "¿De dónde viene el café?",
    "乞力马扎罗山有多高？",
    "متى بني سور الصين العظيم؟",
    "नील नदी कितनी लंबी है?",
    "Chanjo hufanyaje kazi mwilini?",
    "Báwo ni oyin ṣe ń ṣe oyin?",
    "Когда проходили первые современные Олимпийские игры?",
    "人類が初めて月に着陸したのはいつですか",
    "Pourquoi les volcans entrent-ils en éruption ?",
    "Onde o chá foi cultivado pela primeira vez?",
    "which country has won the most football world cups",
    "Warum ist der Amazonas-Regenwald wichtig?",
    "¿Qué tan grande es el desierto del Sahara?",
    "国际象棋起源于哪里？",
    "ما هي عملية التمثيل الضوئي",
    "एफिल टॉवर कब बनाया गया था?",
    "Kahawa ilianzia wapi?",
    "Òkè wo ló ga jùlọ ní Áfíríkà?",
    "Сколько лет Великой Китайской стене?",
    "ナイル川はどの国を流れていますか",
    "comment fonctionne un vaccin",
    "Quantas espécies de abelhas existem?",
]

PASSAGES = [
    # photosynthesis
    "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make sugar and release oxygen.",
    "Bei der Photosynthese wandeln Pflanzen mit Hilfe von Sonnenlicht Wasser und Kohlendioxid in Zucker und Sauerstoff um.",
    "التمثيل الضوئي هو العملية التي تستخدم فيها النباتات ضوء الشمس والماء وثاني أكسيد الكربون لصنع الغذاء.",
    "Usanisinuru ni mchakato ambao mimea hutumia mwanga wa jua, maji na hewa ya kaboni kutengeneza chakula.",
    # Eiffel Tower
    "The Eiffel Tower in Paris was completed in 1889 and is about 330 metres tall.",
    "Der Eiffelturm in Paris wurde 1889 fertiggestellt und ist etwa 330 Meter hoch.",
    "एफिल टॉवर पेरिस में स्थित है और इसका निर्माण 1889 में पूरा हुआ था।",
    "La tour Eiffel, achevée en 1889, mesure environ 330 mètres de haut.",
    # coffee
    "Coffee is believed to have been discovered in Ethiopia before spreading to Yemen and the rest of the world.",
    "Se cree que el café se originó en Etiopía y luego se extendió a Yemen y al resto del mundo.",
    "Kahawa inaaminika kuanzia Ethiopia kabla ya kuenea Yemen na duniani kote.",
    "据信咖啡起源于埃塞俄比亚，后来传到也门和世界其他地方。",
    # Kilimanjaro
    "Mount Kilimanjaro in Tanzania is the highest mountain in Africa, at 5,895 metres.",
    "乞力马扎罗山位于坦桑尼亚，海拔5895米，是非洲最高的山。",
    "Mlima Kilimanjaro ulioko Tanzania ndio mlima mrefu zaidi barani Afrika.",
    "Òkè Kilimanjaro tó wà ní Tanzania ni òkè tó ga jùlọ ní ilẹ̀ Áfíríkà.",
    # Great Wall
    "The Great Wall of China was built over many centuries, with most of the existing wall from the Ming dynasty.",
    "بني سور الصين العظيم على مدى قرون عديدة، ومعظم الأجزاء الباقية تعود إلى عهد أسرة مينغ.",
    "Великая Китайская стена строилась на протяжении многих веков; большая часть сохранившейся стены относится к эпохе Мин.",
    "长城修建了许多个世纪，现存的大部分城墙建于明朝。",
    # Nile
    "The Nile is about 6,650 kilometres long and flows north through eleven countries to the Mediterranean Sea.",
    "नील नदी लगभग 6650 किलोमीटर लंबी है और भूमध्य सागर में गिरती है।",
    "ナイル川は全長約6650キロメートルで、エジプトやスーダンなど11か国を流れて地中海に注ぐ。",
    "نهر النيل يبلغ طوله نحو 6650 كيلومترا ويجري شمالا عبر أحد عشر بلدا.",
    # vaccines
    "A vaccine trains the immune system to recognise a germ so the body can fight it off quickly later.",
    "Chanjo hufundisha mfumo wa kinga wa mwili kutambua vijidudu ili uweze kupambana navyo baadaye.",
    "Un vaccin entraîne le système immunitaire à reconnaître un microbe pour mieux le combattre ensuite.",
    "Ein Impfstoff trainiert das Immunsystem, einen Erreger zu erkennen und ihn später schnell abzuwehren.",
    # honeybees
    "Honeybees make honey by collecting flower nectar and evaporating its water inside the hive.",
    "Àwọn oyin máa ń kó omi òdòdó jọ, wọ́n sì máa ń sọ ọ́ di oyin nínú ilé wọn.",
    "Existem cerca de vinte mil espécies de abelhas no mundo, mas poucas produzem mel.",
    "Las abejas producen miel a partir del néctar de las flores que recogen.",
    # Olympics
    "The first modern Olympic Games were held in Athens in 1896.",
    "Первые современные Олимпийские игры прошли в Афинах в 1896 году.",
    "Die ersten Olympischen Spiele der Neuzeit fanden 1896 in Athen statt.",
    "近代オリンピックの第1回大会は1896年にアテネで開催された。",
    # moon landing
    "Apollo 11 landed the first humans on the Moon on 20 July 1969.",
    "1969年7月20日、アポロ11号が人類初の月面着陸を果たした。",
    "El Apolo 11 llevó a los primeros seres humanos a la Luna el 20 de julio de 1969.",
    "अपोलो 11 ने 20 जुलाई 1969 को पहली बार मनुष्यों को चंद्रमा पर उतारा।",
    # volcanoes
    "Volcanoes erupt when molten rock, called magma, rises and pressure from gases forces it to the surface.",
    "Les volcans entrent en éruption lorsque le magma remonte et que la pression des gaz le pousse vers la surface.",
    "Вулканы извергаются, когда расплавленная порода поднимается и давление газов выталкивает её наружу.",
    "Volkano hulipuka pale mwamba ulioyeyuka unapopanda juu kwa shinikizo la gesi.",
    # tea
    "Tea plants were first cultivated in China thousands of years ago.",
    "O chá foi cultivado pela primeira vez na China há milhares de anos.",
    "茶树最早在几千年前的中国被种植。",
    "चाय की खेती सबसे पहले हजारों साल पहले चीन में की गई थी।",
    # football World Cup
    "Brazil has won the FIFA World Cup five times, more than any other country.",
    "Brasil ganó la Copa Mundial de la FIFA cinco veces, más que cualquier otro país.",
    "فازت البرازيل بكأس العالم لكرة القدم خمس مرات، أكثر من أي دولة أخرى.",
    "Brazil ti gba ife ẹ̀yẹ àgbáyé bọ́ọ̀lù àfẹsẹ̀gbá ní ìgbà márùn-ún.",
    # Amazon
    "The Amazon rainforest produces much of the world's oxygen and is home to millions of species.",
    "Der Amazonas-Regenwald ist Heimat von Millionen Arten und speichert riesige Mengen Kohlenstoff.",
    "A floresta amazônica abriga milhões de espécies e armazena enormes quantidades de carbono.",
    "Msitu wa mvua wa Amazon ni makazi ya mamilioni ya spishi za viumbe.",
    # Sahara and chess
    "The Sahara is the largest hot desert in the world, covering about nine million square kilometres.",
    "El Sahara es el desierto cálido más grande del mundo, con unos nueve millones de kilómetros cuadrados.",
    "Chess originated in India around the sixth century as a game called chaturanga.",
    "国际象棋起源于公元六世纪左右的印度，当时叫做恰图兰卡。",
]
