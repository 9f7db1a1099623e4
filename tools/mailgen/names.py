# ruff: noqa: RUF001 - non-Latin letters and typographic quotes are the point here
"""Where the people on the list come from: names, institutes' mail domains, charsets, phrases.

All names are invented combinations of common given names and surnames. Names are written
compactly and parsed once at import: space-separated entries, '_' for a space inside an entry,
'native:roman' where the script is not Latin, and 'male/female' for surnames that agree with
gender (Czech, Polish, Russian, Greek).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Letters NFKD does not decompose into a base letter and a mark.
_FOLD = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ß": "ss", "đ": "d", "ı": "i"}
)


def ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class Name:
    native: str
    roman: str


@dataclass(frozen=True, slots=True)
class Country:
    key: str
    weight: float  # share of requesters
    zone: str
    domains: tuple[tuple[str, float], ...]
    legacy_charsets: tuple[str, ...]  # what older clients in this language declare
    header_encoding: str
    cjk: bool  # family name first, no space, in the native form
    closings: tuple[str, ...]  # native sign-off lines
    firsts_m: tuple[Name, ...]
    firsts_f: tuple[Name, ...]
    lasts: tuple[tuple[Name, Name], ...]  # (male form, female form)


def _names(spec: str) -> tuple[Name, ...]:
    out = []
    for entry in spec.split():
        native, _, roman = entry.replace("_", " ").partition(":")
        out.append(Name(native, roman or ascii_fold(native)))
    return tuple(out)


def _lasts(spec: str) -> tuple[tuple[Name, Name], ...]:
    out = []
    for entry in spec.split():
        male, _, female = entry.partition("/")
        m = _names(male)[0]
        out.append((m, _names(female)[0] if female else m))
    return tuple(out)


def _domains(spec: str) -> tuple[tuple[str, float], ...]:
    pairs = (item.split("=") for item in spec.split())
    return tuple((domain, float(weight)) for domain, weight in pairs)


def _country(key: str, weight: float, zone: str, domains: str, charsets: str, **kw: str) -> Country:
    return Country(
        key=key,
        weight=weight,
        zone=zone,
        domains=_domains(domains),
        legacy_charsets=tuple(charsets.split()),
        header_encoding=kw.get("enc", "q"),
        cjk=kw.get("cjk") == "yes",
        closings=tuple(kw["closings"].split("|")),
        firsts_m=_names(kw["m"]),
        firsts_f=_names(kw["f"]),
        lasts=_lasts(kw["lasts"]),
    )


_SPECS = [
    _country(
        "fr",
        10,
        "eu",
        "cern.ch=4 lal.in2p3.fr=2 lpnhe.in2p3.fr=1 cppm.in2p3.fr=1 lapp.in2p3.fr=1 "
        "lpsc.in2p3.fr=1 cea.fr=1 gmail.com=1",
        "iso-8859-1 windows-1252 iso-8859-15",
        closings="Merci d'avance,|Cordialement,|Bien à vous,|Merci beaucoup,",
        m="Jérôme Nicolas Julien François Sébastien Olivier Guillaume Frédéric Stéphane Benoît "
        "Rémi Thibault Aurélien Mathieu Cédric Loïc",
        f="Hélène Émilie Camille Sophie Aurélie Céline Marie Chloé Élodie Nathalie Anaïs Claire",
        lasts="Martin Bernard Dubois Lefèvre Moreau Laurent Girard Rousseau Bonnet Dupré "
        "Lemaître Fournier Chevalier Mercier Gauthier Ménard Barthélemy Faure Rivière",
    ),
    _country(
        "de",
        12,
        "eu",
        "cern.ch=4 desy.de=3 mpp.mpg.de=1 physik.uni-muenchen.de=1 uni-mainz.de=1 "
        "physik.uni-bonn.de=1 kip.uni-heidelberg.de=1 physik.hu-berlin.de=1 gmx.de=1",
        "iso-8859-1 iso-8859-15 windows-1252",
        closings="Viele Grüße,|Danke und Grüße,|Beste Grüße,|Vielen Dank im Voraus,",
        m="Jürgen Matthias Stefan Jörg Tobias Florian Andreas Sebastian Michael Lukas Jan Björn "
        "Christoph Maximilian Dominik Ulrich",
        f="Katrin Anja Julia Sabine Jana Lena Franziska Ulrike Birgit Sarah Annika Käthe",
        lasts="Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schäfer Koch Bauer "
        "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Krüger Hoffmann Größer Böhm",
    ),
    _country(
        "it",
        10,
        "eu",
        "cern.ch=4 mi.infn.it=1 roma1.infn.it=1 na.infn.it=1 bo.infn.it=1 pi.infn.it=1 "
        "lnf.infn.it=1 ge.infn.it=1 gmail.com=1",
        "iso-8859-1 windows-1252",
        closings="Grazie mille,|Saluti,|Cordiali saluti,|Grazie in anticipo,",
        m="Giuseppe Marco Alessandro Francesco Luca Andrea Matteo Lorenzo Davide Simone Nicolò "
        "Stefano Paolo Riccardo",
        f="Giulia Francesca Chiara Sara Valentina Federica Elisa Martina Silvia Alessandra",
        lasts="Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno "
        "Gallo Conti De_Luca Mancini Costa Fabbri Lombardi Sanità Cantù",
    ),
    _country(
        "es",
        6,
        "eu",
        "cern.ch=3 ific.uv.es=2 ifae.es=2 uam.es=1 gmail.com=1",
        "iso-8859-1 windows-1252 iso-8859-15",
        closings="Gracias,|Un saludo,|Saludos,|Muchas gracias,",
        m="José Javier Álvaro Sergio Pablo Jesús Andrés Iñigo Joaquín Raúl Óscar Carlos Víctor",
        f="María Lucía Carmen Paula Inés Nuria Marta Sofía Begoña Elena",
        lasts="García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Jiménez "
        "Ruiz Hernández Díaz Muñoz Álvarez Romero Peña Ibáñez",
    ),
    _country(
        "pt",
        2,
        "uk",
        "cern.ch=2 lip.pt=3 gmail.com=1",
        "iso-8859-1 windows-1252",
        closings="Obrigado,|Cumprimentos,|Abraço,",
        m="João Tiago Rui Nuno Gonçalo André Luís",
        f="Inês Joana Ana Beatriz Mariana",
        lasts="Silva Santos Ferreira Pereira Gonçalves Conceição Magalhães Simões Araújo",
    ),
    _country(
        "cz",
        4,
        "eu",
        "cern.ch=3 fzu.cz=3 mff.cuni.cz=2 seznam.cz=1",
        "iso-8859-2 windows-1250",
        closings="Díky,|S pozdravem,|Děkuji,",
        m="Jiří Petr Tomáš Jan Pavel Lukáš Martin Ondřej Vojtěch Michal Radek",
        f="Lucie Kateřina Tereza Petra Hana Zuzana Markéta Jana",
        lasts="Novák/Nováková Svoboda/Svobodová Dvořák/Dvořáková Černý/Černá "
        "Procházka/Procházková Kučera/Kučerová Veselý/Veselá Horák/Horáková Němec/Němcová "
        "Pokorný/Pokorná Růžička/Růžičková Šťastný/Šťastná Hájek/Hájková Bartoš/Bartošová",
    ),
    _country(
        "pl",
        4,
        "eu",
        "cern.ch=3 ifj.edu.pl=2 agh.edu.pl=2 fuw.edu.pl=1 gmail.com=1",
        "iso-8859-2",
        closings="Dzięki,|Pozdrawiam,|Z poważaniem,",
        m="Paweł Łukasz Krzysztof Tomasz Michał Piotr Grzegorz Marcin Jakub Wojciech "
        "Bartłomiej Adam",
        f="Agnieszka Małgorzata Katarzyna Joanna Magdalena Anna Zofia Ewa Justyna",
        lasts="Nowak Kowalski/Kowalska Wiśniewski/Wiśniewska Wójcik Kowalczyk "
        "Kamiński/Kamińska Lewandowski/Lewandowska Zieliński/Zielińska Szymański/Szymańska "
        "Woźniak Dąbrowski/Dąbrowska Kozłowski/Kozłowska Jankowski/Jankowska Mazur Krawczyk "
        "Głowacki/Głowacka",
    ),
    _country(
        "ru",
        6,
        "msk",
        "cern.ch=5 ihep.ru=1 jinr.ru=2 itep.ru=1 mail.ru=1 yandex.ru=1",
        "koi8-r windows-1251",
        enc="b",
        closings="Спасибо,|С уважением,|Заранее спасибо,",
        m="Алексей:Alexey Дмитрий:Dmitry Сергей:Sergey Андрей:Andrey Михаил:Mikhail "
        "Николай:Nikolai Евгений:Evgeny Владимир:Vladimir Артём:Artem Илья:Ilya Павел:Pavel "
        "Роман:Roman",
        f="Анна:Anna Елена:Elena Ольга:Olga Мария:Maria Татьяна:Tatiana Екатерина:Ekaterina "
        "Наталья:Natalia Ирина:Irina",
        lasts="Смирнов:Smirnov/Смирнова:Smirnova Иванов:Ivanov/Иванова:Ivanova "
        "Кузнецов:Kuznetsov/Кузнецова:Kuznetsova Попов:Popov/Попова:Popova "
        "Соколов:Sokolov/Соколова:Sokolova Лебедев:Lebedev/Лебедева:Lebedeva "
        "Козлов:Kozlov/Козлова:Kozlova Новиков:Novikov/Новикова:Novikova "
        "Морозов:Morozov/Морозова:Morozova Волков:Volkov/Волкова:Volkova "
        "Фёдоров:Fedorov/Фёдорова:Fedorova Белов:Belov/Белова:Belova "
        "Голубев:Golubev/Голубева:Golubeva",
    ),
    _country(
        "gr",
        3,
        "eet",
        "cern.ch=4 auth.gr=2 physics.uoa.gr=1 gmail.com=1",
        "iso-8859-7",
        enc="b",
        closings="Ευχαριστώ,|Με εκτίμηση,|Φιλικά,",
        m="Γιώργος:Giorgos Δημήτρης:Dimitris Νίκος:Nikos Κωνσταντίνος:Konstantinos "
        "Γιάννης:Giannis Παναγιώτης:Panagiotis Χρήστος:Christos Αλέξανδρος:Alexandros "
        "Σταύρος:Stavros",
        f="Μαρία:Maria Ελένη:Eleni Κατερίνα:Katerina Σοφία:Sofia Δέσποινα:Despoina "
        "Αγγελική:Angeliki",
        lasts="Παπαδόπουλος:Papadopoulos/Παπαδοπούλου:Papadopoulou Οικονόμου:Oikonomou "
        "Γεωργίου:Georgiou Νικολάου:Nikolaou Βασιλείου:Vasileiou Αντωνίου:Antoniou "
        "Καραγιάννης:Karagiannis/Καραγιάννη:Karagianni Μαυρίδης:Mavridis/Μαυρίδου:Mavridou "
        "Τσιμπίδης:Tsimpidis/Τσιμπίδου:Tsimpidou",
    ),
    _country(
        "tr",
        3,
        "tr",
        "cern.ch=4 boun.edu.tr=2 gmail.com=1",
        "iso-8859-9 windows-1254",
        closings="Teşekkürler,|Saygılarımla,|İyi çalışmalar,",
        m="Mehmet Mustafa Ahmet Ali Hüseyin İbrahim Emre Burak Çağlar Oğuz Serkan Yiğit",
        f="Ayşe Fatma Zeynep Elif Gülşen Özlem Şule Büşra",
        lasts="Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan "
        "Doğan Kılıç Aslan Çetin Koç Kurt Özkan",
    ),
    _country(
        "jp",
        5,
        "jst",
        "cern.ch=4 kek.jp=2 post.kek.jp=1 icepp.s.u-tokyo.ac.jp=2 hep.phys.titech.ac.jp=1",
        "iso-2022-jp shift_jis",
        enc="b",
        cjk="yes",
        closings="よろしくお願いします。|ありがとうございます。|宜しくお願い致します。",
        m="健太:Kenta 翔:Sho 大輔:Daisuke 拓也:Takuya 直樹:Naoki 浩:Hiroshi 誠:Makoto "
        "隆:Takashi 亮:Ryo 悠斗:Yuto",
        f="美咲:Misaki 由美:Yumi 愛:Ai 智子:Tomoko 真由美:Mayumi 彩:Aya 恵:Megumi",
        lasts="佐藤:Sato 鈴木:Suzuki 高橋:Takahashi 田中:Tanaka 渡辺:Watanabe 伊藤:Ito "
        "山本:Yamamoto 中村:Nakamura 小林:Kobayashi 加藤:Kato 吉田:Yoshida 山田:Yamada "
        "松本:Matsumoto 井上:Inoue 木村:Kimura 清水:Shimizu",
    ),
    _country(
        "cn",
        5,
        "cn",
        "ihep.ac.cn=3 cern.ch=3 ustc.edu.cn=1 sjtu.edu.cn=1 163.com=1 gmail.com=1",
        "gb2312 gbk",
        enc="b",
        cjk="yes",
        closings="谢谢！|多谢！|此致敬礼",
        m="伟:Wei 强:Qiang 磊:Lei 军:Jun 洋:Yang 勇:Yong 杰:Jie 涛:Tao 斌:Bin 浩然:Haoran "
        "子轩:Zixuan 俊杰:Junjie",
        f="芳:Fang 娜:Na 静:Jing 丽:Li 敏:Min 婷:Ting 雪:Xue 晓梅:Xiaomei 欣怡:Xinyi",
        lasts="王:Wang 李:Li 张:Zhang 刘:Liu 陈:Chen 杨:Yang 黄:Huang 赵:Zhao 吴:Wu 周:Zhou "
        "徐:Xu 孙:Sun 马:Ma 朱:Zhu 胡:Hu 郭:Guo",
    ),
    _country(
        "tw",
        2,
        "cn",
        "phys.sinica.edu.tw=3 sinica.edu.tw=1 cern.ch=2",
        "big5",
        enc="b",
        cjk="yes",
        closings="謝謝！|感謝您的幫忙。",
        m="志明:Chih-Ming 家豪:Chia-Hao 俊傑:Chun-Chieh 建宏:Chien-Hung 宗翰:Tsung-Han",
        f="淑芬:Shu-Fen 怡君:Yi-Chun 雅婷:Ya-Ting 佩珊:Pei-Shan",
        lasts="陳:Chen 林:Lin 黃:Huang 張:Chang 李:Lee 王:Wang 吳:Wu 劉:Liu 蔡:Tsai 楊:Yang "
        "許:Hsu 鄭:Cheng",
    ),
    _country(
        "nordic",
        5,
        "eu",
        "cern.ch=3 fysik.su.se=2 hep.lu.se=1 nbi.ku.dk=2 fys.uio.no=1 physics.uu.se=1",
        "iso-8859-1 iso-8859-15",
        closings="Tack,|Hälsningar,|Mvh,|Med venlig hilsen,",
        m="Björn Anders Lars Mattias Henrik Jørgen Søren Håkan Nils Erik Magnus Ole Kristoffer "
        "Jens Øyvind",
        f="Åsa Ingrid Sofie Karin Maja Linnéa Sigrid Ida Astrid",
        lasts="Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsen Hansen Jensen "
        "Nielsen Sørensen Pettersen Bergström Lindqvist Åkesson Strøm Ødegård Holmström",
    ),
    _country(
        "nl",
        2,
        "eu",
        "nikhef.nl=3 cern.ch=2 gmail.com=1",
        "iso-8859-1",
        closings="Groeten,|Bedankt,|Met vriendelijke groet,",
        m="Jeroen Sander Bram Pieter Maarten Joost Wouter Thijs",
        f="Anouk Femke Sanne Lotte Marieke",
        lasts="de_Jong de_Vries van_den_Berg Bakker Janssen Visser Smit Meijer de_Boer Mulder "
        "van_Dijk Dekker",
    ),
    _country(
        "uk",
        9,
        "uk",
        "cern.ch=3 physics.ox.ac.uk=2 hep.ucl.ac.uk=2 stfc.ac.uk=1 hep.ph.liv.ac.uk=1 "
        "hep.phy.cam.ac.uk=1 gmail.com=1",
        "us-ascii iso-8859-1",
        closings="Cheers,|Many thanks,|Best regards,|Thanks in advance,",
        m="James Oliver Thomas Harry William Daniel Matthew Christopher Richard Alastair Ian "
        "Gareth Rhys Callum",
        f="Emily Charlotte Sophie Hannah Rebecca Catherine Fiona Eleanor Siobhan",
        lasts="Smith Jones Taylor Brown Williams Wilson Evans Thomas Roberts Walker Wright "
        "Robinson Thompson Hughes Edwards Green Hall Wood Harris Clarke Lewis O'Neill MacDonald",
    ),
    _country(
        "us",
        12,
        "us_east",
        "cern.ch=3 bnl.gov=2 anl.gov=1 slac.stanford.edu=1 uchicago.edu=1 umich.edu=1 "
        "physics.harvard.edu=1 lbl.gov=1 uci.edu=1 gmail.com=2",
        "us-ascii iso-8859-1",
        closings="Thanks,|Thanks!|Best,|Thanks for your help,",
        m="Michael David John Robert Brian Kevin Jason Ryan Eric Joshua Tyler Brandon Justin "
        "Andrew Nathan",
        f="Jennifer Jessica Ashley Sarah Megan Emily Rachel Lauren Amanda Nicole",
        lasts="Johnson Miller Davis Anderson Jackson White Harris Martinez Thompson Garcia "
        "Robinson Clark Lewis Lee Walker Young King Wright Scott Nguyen Hill Baker Nelson "
        "Carter Mitchell Patel Kim",
    ),
    _country(
        "ca",
        3,
        "us_east",
        "triumf.ca=2 physics.utoronto.ca=1 physics.mcgill.ca=1 cern.ch=2 gmail.com=1",
        "iso-8859-1",
        closings="Thanks,|Merci,|Cheers,",
        m="Étienne Alexandre Marc-André Connor Liam Mathieu Justin Evan",
        f="Émilie Olivia Geneviève Maude Kayla",
        lasts="Tremblay Gagnon Roy Côté Bouchard Gauthier Morin Lavoie Fortin MacLeod Campbell "
        "Stewart",
    ),
    _country(
        "ma",
        2,
        "utc",
        "um5.ac.ma=2 cern.ch=2 gmail.com=2",
        "iso-8859-1 windows-1252",
        closings="Merci d'avance,|Cordialement,|Best regards,",
        m="Mohamed Youssef Hamza Mehdi Karim Rachid Anas Soufiane Omar",
        f="Fatima-Zahra Meryem Salma Kawtar Imane Hajar",
        lasts="El_Amrani Benjelloun Alaoui Bennani Tazi Chraibi Berrada El_Idrissi Ouazzani Lahlou",
    ),
    _country(
        "il",
        2,
        "eet",
        "weizmann.ac.il=2 post.tau.ac.il=2 cern.ch=2",
        "us-ascii",
        closings="Thanks,|Cheers,|Best,",
        m="Yoav Itai Noam Eitan Omer Ariel Amit",
        f="Noa Tamar Shira Michal Yael",
        lasts="Cohen Levi Mizrahi Peretz Biton Friedman Katz Goldberg Shapira Azoulay",
    ),
    _country(
        "br",
        2,
        "brt",
        "cern.ch=2 if.ufrj.br=2 gmail.com=1",
        "iso-8859-1 windows-1252",
        closings="Obrigado,|Abraços,|Att.,",
        m="João Pedro Lucas Thiago Rafael Gustavo Felipe",
        f="Ana Júlia Beatriz Letícia Camila",
        lasts="Silva Souza Oliveira Lima Carvalho Ribeiro Araújo Gonçalves Magalhães",
    ),
]

COUNTRIES: dict[str, Country] = {c.key: c for c in _SPECS}
COUNTRY_KEYS = tuple(COUNTRIES)
COUNTRY_WEIGHTS = tuple(c.weight for c in _SPECS)

# Institutes in North America keep their own clocks.
DOMAIN_ZONES = {
    "bnl.gov": "us_east",
    "umich.edu": "us_east",
    "physics.harvard.edu": "us_east",
    "physics.utoronto.ca": "us_east",
    "physics.mcgill.ca": "us_east",
    "anl.gov": "us_central",
    "uchicago.edu": "us_central",
    "slac.stanford.edu": "us_pacific",
    "lbl.gov": "us_pacific",
    "uci.edu": "us_pacific",
    "triumf.ca": "us_pacific",
}
